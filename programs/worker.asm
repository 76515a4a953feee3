; worker: a CPU-bound job of known size. Arguments (6 bytes): rounds N (ARGS+1),
; controller pid (ARGS+3, 4 bytes). Runs N rounds of a 65536-iteration counting loop
; (4 instructions each, as spin does), then sends the controller one byte and exits.
        include "zbeam.inc"
        org     100h
        ld      hl,(ARGS+1)
        ld      (count),hl
outer:  ld      a,h
        or      l
        jr      z,done
        ld      bc,0
inner:  dec     bc
        ld      a,b
        or      c
        jr      nz,inner
        ld      hl,(count)
        dec     hl
        ld      (count),hl
        jr      outer
done:   ld      a,F_SEND
        ld      de,(ARGS+3)
        ld      iy,(ARGS+5)
        ld      hl,ARGS+1
        ld      bc,1
        rst     SYS
        ret
count:  dw      0
