; sleeper: measures how late timeouts fire. Arguments (9 bytes): d (ms), k (rounds),
; controller pid (4 bytes), mode (0 = SLEEP d, 1 = RECEIVE with timeout d and no sender).
; Each round times the wait with TIME; at the end it sends the controller 8 bytes:
; min elapsed, max elapsed, d, mode (16-bit each). A correct kernel never reports
; min < d (early) and keeps max - d within its tick.
        include "zbeam.inc"
        org     100h
start:  ld      hl,0FFFFh
        ld      (min),hl
        ld      hl,0
        ld      (max),hl
        ld      hl,(ARGS+3)
        ld      (rounds),hl
round:  ld      a,F_TIME
        rst     SYS
        ld      (t0),hl
        ld      a,(ARGS+9)
        or      a
        jr      nz,byrecv
        ld      a,F_SLEEP
        ld      hl,(ARGS+1)
        rst     SYS
        jr      waited
byrecv: ld      a,F_RECV
        ld      de,scratch
        ld      bc,1
        ld      hl,(ARGS+1)
        rst     SYS
waited: ld      a,F_TIME
        rst     SYS
        ld      de,(t0)
        or      a
        sbc     hl,de           ; HL = elapsed
        ex      de,hl
        ld      hl,(min)        ; min = min(min, elapsed)
        or      a
        sbc     hl,de
        jr      c,notmin
        ld      (min),de
notmin: ld      hl,(max)        ; max = max(max, elapsed)
        or      a
        sbc     hl,de
        jr      nc,notmax
        ld      (max),de
notmax: ld      hl,(rounds)
        dec     hl
        ld      (rounds),hl
        ld      a,h
        or      l
        jr      nz,round
        ld      hl,(ARGS+1)
        ld      (delay),hl
        ld      a,(ARGS+9)
        ld      (mode),a
        ld      a,F_SEND
        ld      de,(ARGS+5)
        ld      iy,(ARGS+7)
        ld      hl,min
        ld      bc,8
        rst     SYS
        ret
min:    dw      0
max:    dw      0
delay:  dw      0
mode:   dw      0
t0:     dw      0
rounds: dw      0
scratch: db     0
