; cx-tmo: the lost-timeout repro (issue 12). Each round sends itself a message,
; takes it with a polling RECEIVE, then calls RECEIVE with a 100 ms timeout, which
; must come back TIMEOUT. Three rounds, then a normal exit; exit code 1 if a
; round's receive returned anything else.
        include "zbeam.inc"
        org     100h
        ld      b,3
round:  push    bc
        ld      a,F_SELF
        rst     SYS
        ld      (me),hl
        ld      de,(me)
        ld      a,F_SEND
        ld      hl,buf
        ld      bc,1
        rst     SYS
        ld      a,F_RECV        ; poll: takes the message just sent
        ld      de,buf
        ld      bc,4
        ld      hl,0
        rst     SYS
        or      a
        jr      nz,fail
        ld      a,F_RECV        ; nothing more comes: must time out
        ld      de,buf
        ld      bc,4
        ld      hl,100
        rst     SYS
        cp      S_TIMEOUT
        jr      nz,fail
        pop     bc
        djnz    round
        ret
fail:   ld      e,1
        ld      a,F_EXIT
        rst     SYS
me:     dw      0               ; own pid
buf:    ds      4
