; spin: a CPU-bound worker. Argument word N (at ARGS+1): run N rounds of a
; 65536-iteration counting loop (4 instructions each), then exit normally.
; No argument, or N = 0: run forever.
        include "zbeam.inc"
        org     100h
start:  ld      hl,0
        ld      a,(ARGS)
        cp      2
        jr      c,have          ; fewer than 2 argument bytes: forever
        ld      hl,(ARGS+1)
have:   ld      (count),hl
        ld      a,h
        or      l
        ld      (forever),a     ; 0 = forever
outer:  ld      bc,0
inner:  dec     bc
        ld      a,b
        or      c
        jr      nz,inner
        ld      a,(forever)
        or      a
        jr      z,outer
        ld      hl,(count)
        dec     hl
        ld      (count),hl
        ld      a,h
        or      l
        jr      nz,outer
        ret                     ; to 0000h: a normal exit
count:  dw      0
forever: db     0
