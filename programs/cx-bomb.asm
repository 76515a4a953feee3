; cx-bomb: spawn bombs (issue 12). Arguments are text: a mode letter, a space and
; this program's own image number in decimal (e.g. "L 12"); every child gets the
; same arguments.
;   S  spawns copies of itself without end; when a spawn fails, sleeps 10 ms and
;      retries.
;   Y  the same, yielding instead of sleeping.
;   L  a linked tree: traps exits, spawns two linked children, and spawns another
;      whenever an exit signal arrives (a child or its parent ended), retrying a
;      failed spawn after a yield. Killing the root does not end it.
; Exits with code 1 if the arguments are malformed.
        include "zbeam.inc"
        org     100h
        ld      a,(ARGS)
        sub     3
        jp      c,bad
        inc     a
        ld      b,a             ; digits
        ld      hl,ARGS+3
        ld      e,0
digit:  ld      a,e             ; e = e * 10 + digit
        add     a,a
        ld      c,a
        add     a,a
        add     a,a
        add     a,c
        ld      c,a
        ld      a,(hl)
        sub     '0'
        cp      10
        jp      nc,bad
        add     a,c
        ld      e,a
        inc     hl
        djnz    digit
        ld      a,e
        ld      (image),a
        ld      a,(ARGS)
        ld      (optlen),a
        ld      a,(ARGS+1)
        cp      'L'
        jr      z,tree

bomb:   ld      a,(image)
        ld      e,a
        ld      d,0
        ld      a,(ARGS)
        ld      c,a
        ld      b,0
        ld      hl,ARGS+1
        ld      a,F_SPAWN
        rst     SYS
        or      a
        jr      z,bomb
        ld      a,(ARGS+1)
        cp      'S'
        jr      nz,yld
        ld      a,F_SLEEP
        ld      hl,10
        rst     SYS
        jr      bomb
yld:    ld      a,F_YIELD
        rst     SYS
        jr      bomb

tree:   ld      a,F_TRAP_EXIT
        ld      e,1
        rst     SYS
        call    child
        call    child
wait:   ld      a,F_RECV_TAG
        ld      de,buf
        ld      bc,6
        ld      hl,INFINITY
        ld      ix,T_EXIT
        rst     SYS
        call    child
        jr      wait
child:  ld      a,(image)
        ld      e,a
        ld      d,0
        ld      hl,opts
        ld      a,F_SPAWN_OPT
        rst     SYS
        or      a
        ret     z
        ld      a,F_YIELD
        rst     SYS
        jr      child

bad:    ld      e,1
        ld      a,F_EXIT
        rst     SYS

image:  db      0               ; own image number
opts:   dw      ARGS+1          ; SPAWN_OPT block: the same arguments,
optlen: db      0
        db      0FFh            ; the caller's priority,
        db      1               ; linked,
        db      0
        dw      0,0,0,0         ; the caller's cores
buf:    ds      6
