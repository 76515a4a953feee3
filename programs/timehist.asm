; timehist: a histogram of timer lateness. Arguments (11 bytes): first delay d
; (ARGS+1, 1..100 ms), step (ARGS+3), rounds (ARGS+5), controller pid (ARGS+7, 4
; bytes), mode (ARGS+11: 0 = SLEEP d, else RECEIVE with timeout d and no sender).
; Each round times one wait with TIME and counts it as early (elapsed < d) or in
; bucket min(elapsed - d, 31) of a 32-entry 16-bit histogram; then d += step,
; wrapped into 1..100. At the end it sends the controller 66 bytes: the early count
; and the histogram (16-bit each, low byte first), and exits.
        include "zbeam.inc"
        org     100h
        ld      hl,(ARGS+1)
        ld      (delay),hl
        ld      hl,(ARGS+5)
        ld      (rounds),hl
round:  ld      a,F_TIME
        rst     SYS
        ld      (t0),hl
        ld      a,(ARGS+11)
        or      a
        jr      nz,byrecv
        ld      a,F_SLEEP
        ld      hl,(delay)
        rst     SYS
        jr      waited
byrecv: ld      a,F_RECV
        ld      de,scratch
        ld      bc,1
        ld      hl,(delay)
        rst     SYS
waited: ld      a,F_TIME
        rst     SYS
        ld      de,(t0)
        or      a
        sbc     hl,de           ; HL = elapsed
        ld      de,(delay)
        or      a
        sbc     hl,de           ; HL = elapsed - d; carry: early
        jr      nc,ontime
        ld      hl,(early)
        inc     hl
        ld      (early),hl
        jr      next
ontime: ld      a,h
        or      a
        jr      nz,over
        ld      a,l
        cp      31
        jr      c,bucket
over:   ld      l,31
bucket: ld      h,0
        add     hl,hl
        ld      de,hist
        add     hl,de
        inc     (hl)
        jr      nz,next
        inc     hl
        inc     (hl)
next:   ld      hl,(delay)      ; d += step, wrapped into 1..100
        ld      de,(ARGS+3)
        add     hl,de
        ld      de,101
        or      a
        sbc     hl,de
        jr      nc,wrap
        add     hl,de
        jr      setd
wrap:   inc     hl              ; (d - 101) + 1 = d - 100
setd:   ld      (delay),hl
        ld      hl,(rounds)
        dec     hl
        ld      (rounds),hl
        ld      a,h
        or      l
        jr      nz,round
        ld      a,F_SEND
        ld      de,(ARGS+7)
        ld      iy,(ARGS+9)
        ld      hl,early
        ld      bc,66
        rst     SYS
        ret
early:  dw      0
hist:   ds      64
delay:  dw      0
rounds: dw      0
t0:     dw      0
scratch: db     0
