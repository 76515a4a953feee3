; cx-attack: aims at the console shell what once removed it (issue 12): KILL, LINK
; (then exits with a reason, which a link would carry to the shell), SIGNAL with a
; reason and SIGNAL with the kill reason. Prints each call's status digit
; ("attack: 2222" = BAD_PID four times: all refused), then exits with code 5.
; The target pid is an argument (4 bytes at ARGS+1), else 1 (the shell when the
; workload is off).
        include "zbeam.inc"
        org     100h
        ld      a,(ARGS)
        cp      2
        jr      c,go
        ld      hl,(ARGS+1)
        ld      (target),hl
        ld      hl,(ARGS+3)
        ld      (target+2),hl
go:     ld      iy,(target+2)   ; the pid's high half for every call
        ld      a,F_KILL
        ld      de,(target)
        rst     SYS
        ld      (digits+0),a
        ld      a,F_LINK
        ld      de,(target)
        rst     SYS
        ld      (digits+1),a
        ld      a,F_SIGNAL
        ld      de,(target)
        ld      hl,5
        rst     SYS
        ld      (digits+2),a
        ld      a,F_SIGNAL
        ld      de,(target)
        ld      hl,R_KILLED
        rst     SYS
        ld      (digits+3),a
        ld      hl,digits       ; statuses as digits
        ld      b,4
dig:    ld      a,(hl)
        add     a,'0'
        ld      (hl),a
        inc     hl
        djnz    dig
        ld      a,F_WRITE
        ld      hl,msg
        ld      bc,msglen
        rst     SYS
        ld      e,5
        ld      a,F_EXIT
        rst     SYS
target: dw      1,0             ; the pid attacked
msg:    db      "attack: "
digits: ds      4
        db      13,10
msglen  equ     $-msg
