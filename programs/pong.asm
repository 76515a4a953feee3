; pong: a ping-pong responder. Sends every message back to its sender unchanged
; (messages of up to 16 bytes); an empty message ends it normally.
        include "zbeam.inc"
        org     100h
loop:   ld      a,F_RECV
        ld      de,buf
        ld      bc,16
        ld      hl,INFINITY
        rst     SYS
        ld      a,b             ; BC = length, DE and IY = sender
        or      c
        ret     z               ; empty: a normal exit
        ld      a,F_SEND        ; back to the sender, same length
        ld      hl,buf
        rst     SYS
        jr      loop
buf:    ds      16
