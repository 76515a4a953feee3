; cx-flood: floods the kernel's tables (issue 12). Argument 'M': MONITOR itself until
; the call fails; the failure must be NO_RESOURCES (exit code 1 otherwise, 2 if
; 65535 monitors were granted). Argument 'N' and a name (1..16 bytes): REGISTER the
; name; on success wait for any message and exit normally, else exit with the
; status as code.
; Either way it then waits: the test looks at the kernel's tables, then ends it
; with a message.
        include "zbeam.inc"
        org     100h
        ld      a,(ARGS+1)
        cp      'N'
        jr      z,name
        ld      hl,0
        ld      (count),hl
mon:    ld      a,F_SELF
        rst     SYS
        ex      de,hl
        ld      a,F_MONITOR
        rst     SYS
        or      a
        jr      nz,full
        ld      hl,(count)
        inc     hl
        ld      (count),hl
        ld      a,h
        or      l
        jr      nz,mon
        ld      e,2
        jr      quit
full:   cp      S_NO_RESOURCES
        jr      z,hold
        ld      e,1
        jr      quit
name:   ld      a,(ARGS)
        dec     a
        ld      c,a
        ld      b,0
        ld      hl,ARGS+2
        ld      a,F_REGISTER
        rst     SYS
        or      a
        jr      z,hold
        ld      e,a
quit:   ld      a,F_EXIT
        rst     SYS
hold:   ld      a,F_RECV
        ld      de,buf
        ld      bc,4
        ld      hl,INFINITY
        rst     SYS
        ret
count:  dw      0
buf:    ds      4
