; crash: says so, then reads a byte from bank 0 (BNKRBT), which is not present:
; the personality ends it with the fault "bank 0 is not present".
xcode   equ 0
xdata   equ 0
xtrn    equ 0
        include "head.inc"
        db "Crash"
        include "head2.inc"

start:  call init
        ld hl,tcrash
        call print
        xor a                   ; bank 0: the system's, absent here
        ld hl,8000h
        rst 20h
        dw 812ah                ; BNKRBT
        ld hl,tafter            ; never reached
        call print
        jp quit

        include "lib.inc"

datbeg:
tcrash: db "crashing",13,10,0
tafter: db "still here",13,10,0

trnbeg:
        include "frame.inc"
trnend:
