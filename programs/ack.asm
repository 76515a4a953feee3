; ack: the smallest useful child. Sends one byte to the pid in its argument block
; (ARGS+1, 32-bit) and exits normally; the spawn benchmark counts these.
        include "zbeam.inc"
        org     100h
        ld      a,F_SEND
        ld      de,(ARGS+1)
        ld      iy,(ARGS+3)
        ld      hl,ARGS+1
        ld      bc,1
        rst     SYS
        ret
