; flood: sends 1 KiB messages in a loop, as fast as it can, and never receives. The
; target is the process registered as "sink" if there is one, else flood itself.
; When a send fails (the target is gone) it exits with the status as its code.
; Used to show that a mailbox flood ends the flooded process by its memory limit
; (reason MEMORY) and harms nothing else.
        include "zbeam.inc"
        org     100h
start:  ld      hl,sink
        ld      bc,4
        ld      a,F_WHEREIS
        rst     SYS
        or      a
        jr      z,have          ; HL and IY = the sink's pid
        ld      a,F_SELF
        rst     SYS
have:   ld      (target),hl     ; IY keeps the high half
loop:   ld      de,(target)
        ld      hl,0            ; 1 KiB of whatever is at 0000h
        ld      bc,1024
        ld      a,F_SEND
        rst     SYS
        or      a
        jr      z,loop
        ld      e,a
        ld      a,F_EXIT
        rst     SYS
sink:   db      "sink"
target: dw      0
