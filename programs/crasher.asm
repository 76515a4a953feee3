; crasher: a supervised child for the supervisor tests.
; Arguments: mode (1 byte), delay in ms (2 bytes). It sleeps for the delay, then:
; mode 0 = DI and HALT (a fault), 1 = RET (a normal exit), 2 = waits forever,
; 3 = an unknown system call (a fault), 4 = EXIT with code 7.
        include "zbeam.inc"
        org     100h
        ld      hl,(ARGS+2)
        ld      a,F_SLEEP
        rst     SYS
        ld      a,(ARGS+1)
        or      a
        jr      z,dohalt
        cp      1
        ret     z
        cp      3
        jr      z,badcall
        cp      4
        jr      z,code7
wait:   ld      a,F_RECV
        ld      de,buf
        ld      bc,1
        ld      hl,INFINITY
        rst     SYS
        jr      wait
badcall: ld     a,0C8h
        rst     SYS
        ret
code7:  ld      e,7
        ld      a,F_EXIT
        rst     SYS
dohalt: di
        halt
buf:    ds      1
