; echo: answers messages from other processes. Each message (14 bytes) is printed
; with the SymbOS id of its sender and sent back to that sender; a message starting
; with "q" ends it. Under zbeam, other zbeam processes appear under ids from 17 up.
xcode   equ 0
xdata   equ 0
xtrn    equ 0
        include "head.inc"
        db "Echo"
        include "head2.inc"

start:  call init
        ld hl,tready
        call print
next:   ld a,(appstk+14)        ; wait for a message from anyone
        db 0ddh
        ld l,a
        db 0ddh
        ld h,255
        ld iy,inbox
        rst 08h
        db 0ddh
        ld a,l
        cp 1
        jr nz,next
        db 0ddh
        ld a,h
        ld (sender),a
        ld a,(inbox)
        cp "q"
        jr z,done
        ld hl,tfrom             ; "from <id>: <text>"
        call print
        ld a,(sender)
        ld l,a
        ld h,0
        call decimal
        ld hl,tcolon
        call print
        ld hl,inbox
        call print
        ld a,(appstk+14)        ; send it back
        db 0ddh
        ld l,a
        ld a,(sender)
        db 0ddh
        ld h,a
        ld iy,inbox
        rst 10h
        db 0ddh
        ld a,l
        ld (status),a
        ld hl,tsent
        call print
        ld a,(status)
        call hex
        call crlf
        jr next
done:   ld hl,tbye
        call print
        jp quit

sender: db 0
status: db 0

        include "lib.inc"

datbeg:
tready: db "echo ready",13,10,0
tfrom:  db "from ",0
tcolon: db ": ",0
tsent:  db " sent ",0
tbye:   db "bye",13,10,0

trnbeg:
        include "frame.inc"
inbox:  ds 14
        db 0                    ; ends the text of a full 14-byte message
trnend:
