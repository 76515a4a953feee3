; sink: registers as "sink" and then never receives: it sleeps 1 s at a time,
; forever, while its mailbox fills (see flood.asm).
        include "zbeam.inc"
        org     100h
start:  ld      hl,name
        ld      bc,4
        ld      a,F_REGISTER
        rst     SYS
nap:    ld      hl,1000
        ld      a,F_SLEEP
        rst     SYS
        jr      nap
name:   db      "sink"
