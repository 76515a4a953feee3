; ring: one node of a message ring.
; First message (setup, 14 bytes): next pid (4), controller pid (4), ring size n (2),
; total (4).
; Then tokens (4 bytes: a 32-bit sequence number). Each node checks that every token
; it sees is exactly n after the previous one it saw (nothing lost or reordered),
; adds one and forwards it to the next node. The node that makes the sequence reach
; `total` reports 'D' + sequence to the controller instead of forwarding; a node
; that sees a wrong sequence reports 'E' + the sequence and drops the token. Any
; message that is not 4 bytes long ends the node normally.
        include "zbeam.inc"
        org     100h
start:  ld      a,F_RECV
        ld      de,setup
        ld      bc,14
        ld      hl,INFINITY
        rst     SYS
        ld      a,1
        ld      (first),a
loop:   ld      a,F_RECV
        ld      de,token
        ld      bc,4
        ld      hl,INFINITY
        rst     SYS
        ld      a,b
        or      a
        ret     nz              ; not a token: exit normally
        ld      a,c
        cp      4
        ret     nz
        ld      a,(first)
        or      a
        jr      nz,accept
        ld      hl,(last)       ; expect = last + n (32-bit)
        ld      de,(n)
        add     hl,de
        ld      (expect),hl
        ld      hl,(last+2)
        ld      de,0
        adc     hl,de
        ld      (expect+2),hl
        ld      hl,(token)
        ld      de,(expect)
        or      a
        sbc     hl,de
        jr      nz,bad
        ld      hl,(token+2)
        ld      de,(expect+2)
        or      a
        sbc     hl,de
        jr      nz,bad
accept: xor     a
        ld      (first),a
        ld      hl,(token)
        ld      (last),hl
        ld      hl,(token+2)
        ld      (last+2),hl
        ld      hl,(token)      ; sequence += 1
        inc     hl
        ld      (token),hl
        ld      a,h
        or      l
        jr      nz,nocarry
        ld      hl,(token+2)
        inc     hl
        ld      (token+2),hl
nocarry: ld     hl,(token)      ; reached the total?
        ld      de,(total)
        or      a
        sbc     hl,de
        jr      nz,forward
        ld      hl,(token+2)
        ld      de,(total+2)
        or      a
        sbc     hl,de
        jr      nz,forward
        ld      a,'D'
        jr      tell
forward: ld     a,F_SEND
        ld      de,(next)
        ld      iy,(next+2)
        ld      hl,token
        ld      bc,4
        rst     SYS
        or      a
        jp      z,loop
        ld      a,'F'           ; the next node is gone
        jr      tell
bad:    ld      a,'E'
tell:   ld      (report),a
        ld      hl,(token)
        ld      (report+1),hl
        ld      hl,(token+2)
        ld      (report+3),hl
        ld      a,F_SEND
        ld      de,(ctl)
        ld      iy,(ctl+2)
        ld      hl,report
        ld      bc,5
        rst     SYS
        jp      loop
setup:
next:   dw      0,0
ctl:    dw      0,0
n:      dw      0
total:  dw      0, 0
first:  db      0
last:   dw      0, 0
expect: dw      0, 0
token:  dw      0, 0
report: db      0, 0, 0, 0, 0
