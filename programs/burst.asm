; burst: a CPU-bound worker that rests. Arguments: rounds N (ARGS+1) and a pause in
; ms (ARGS+3). Forever: N rounds of a 65536-iteration counting loop (4 instructions
; each, as spin does), then a sleep of the pause.
        include "zbeam.inc"
        org     100h
again:  ld      hl,(ARGS+1)
outer:  ld      a,h
        or      l
        jr      z,rest
        ld      bc,0
inner:  dec     bc
        ld      a,b
        or      c
        jr      nz,inner
        dec     hl
        jr      outer
rest:   ld      a,F_SLEEP
        ld      hl,(ARGS+3)
        rst     SYS
        jr      again
