; relay: one node of the default workload's message ring. Argument word: a pause in
; ms (ARGS+1). The first message (4 bytes) is the next node's pid; every later
; message (up to 16 bytes kept) is held for the pause and passed on to the next node
; unchanged. An empty message ends the node normally.
        include "zbeam.inc"
        org     100h
        ld      a,F_RECV
        ld      de,next
        ld      bc,4
        ld      hl,INFINITY
        rst     SYS
loop:   ld      a,F_RECV
        ld      de,buf
        ld      bc,16
        ld      hl,INFINITY
        rst     SYS
        ld      a,b             ; BC = full length (may exceed the 16 kept)
        or      c
        ret     z               ; empty: a normal exit
        ld      a,b
        or      a
        jr      nz,clamp
        ld      a,c
        cp      17
        jr      c,keep
clamp:  ld      bc,16
keep:   ld      (len),bc
        ld      a,F_SLEEP
        ld      hl,(ARGS+1)
        rst     SYS
        ld      a,F_SEND
        ld      de,(next)
        ld      iy,(next+2)
        ld      hl,buf
        ld      bc,(len)
        rst     SYS
        jr      loop
next:   dw      0,0
len:    dw      0
buf:    ds      16
