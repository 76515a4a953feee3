; cx-pingpong: two processes play ping-pong with 65-second receive timeouts, so
; each round's wait ends by a message long before its timer (issue 12: timers a
; message ends must not pile up). Arguments 'A', image number of cx-pingpong,
; rounds (2 bytes): spawns its partner, sends it a byte and awaits the echo, rounds
; times, then sends it an empty message and exits normally (code 1 on an error or a
; timeout). Arguments 'B', pid (4 bytes): echoes every message to that pid until an
; empty one. Arguments 'T', pid (4 bytes), timeout ms (2 bytes): the same echo with
; that receive timeout, and each timeout reported to the pid as a 2-byte message
; (the host's model test of wait, wake and timeout races).
        include "zbeam.inc"
        org     100h
WAIT    equ     65000
        ld      a,(ARGS+1)
        cp      'A'
        jr      nz,echo
        ld      a,F_SELF
        rst     SYS
        ld      (bpid),hl
        ld      (bpid+2),iy
        ld      hl,(ARGS+3)
        ld      (rounds),hl
        ld      a,(ARGS+2)
        ld      e,a
        ld      d,0
        ld      a,F_SPAWN
        ld      hl,bargs
        ld      bc,5
        rst     SYS
        or      a
        jr      nz,fail
        ld      (peer),hl
        ld      (peer+2),iy
ping:   ld      a,F_SEND
        ld      de,(peer)
        ld      iy,(peer+2)
        ld      hl,buf
        ld      bc,1
        rst     SYS
        or      a
        jr      nz,fail
        call    recv
        or      a
        jr      nz,fail
        ld      hl,(rounds)
        dec     hl
        ld      (rounds),hl
        ld      a,h
        or      l
        jr      nz,ping
        ld      a,F_SEND        ; empty: the partner's end
        ld      de,(peer)
        ld      iy,(peer+2)
        ld      bc,0
        rst     SYS
        ret
fail:   ld      e,1
        ld      a,F_EXIT
        rst     SYS

; Receives into buf, waiting at most (limit) ms.
recv:   ld      a,F_RECV
        ld      de,buf
        ld      bc,4
        ld      hl,(limit)
        rst     SYS
        ret

echo:   ld      hl,(ARGS+2)
        ld      (peer),hl
        ld      hl,(ARGS+4)
        ld      (peer+2),hl
        ld      a,(ARGS+1)
        cp      'T'
        jr      nz,eloop
        ld      hl,(ARGS+6)
        ld      (limit),hl
eloop:  call    recv
        cp      S_TIMEOUT
        jr      z,tmo
        or      a
        jr      nz,fail
        ld      a,b
        or      c
        ret     z
        ld      bc,1            ; echo: one byte
reply:  ld      a,F_SEND
        ld      de,(peer)
        ld      iy,(peer+2)
        ld      hl,buf
        rst     SYS
        jr      eloop
tmo:    ld      a,(ARGS+1)
        cp      'T'
        jr      nz,fail         ; 'B' never times out
        ld      bc,2            ; a timeout report: two bytes
        jr      reply

bargs:  db      'B'
bpid:   dw      0,0             ; own pid, passed to the partner
peer:   dw      0,0             ; the partner's pid
rounds: dw      0
limit:  dw      WAIT            ; receive timeout in ms
buf:    ds      4
