; hello: a CP/M-style program: prints a line through BDOS function 9 and returns
; to CP/M (a warm boot, which ends the process normally).
        org     100h
        ld      de,msg
        ld      c,9
        call    5
        ret
msg:    db      'Hello from a Z80 process', 13, 10, '$'
