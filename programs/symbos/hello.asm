; hello: SymShell output, the command line, the start frame's registers, the
; header the loader filled in, and the kernel's MTGPID/BNKGET; then it quits.
xcode   equ 16                  ; extra memory behind each area
xdata   equ 32
xtrn    equ 48
        include "head.inc"
        db "Hello"
        include "head2.inc"

start:  push af                 ; the registers the start frame set
        push bc
        push de
        push hl
        push ix
        push iy
        call init
        jp c,quit
        ld hl,thello
        call print
        ld hl,(cmdline)
        call print
        call crlf
        ld hl,tregs             ; IY IX HL DE BC AF as the frame gave them
        call print
        ld b,6
regs1:  pop hl
        push bc
        ld a,h
        call hex
        ld a,l
        call hex
        ld a," "
        call putc
        pop bc
        djnz regs1
        call crlf
        ld hl,tlayout           ; code length, data and transfer addresses
        call print
        ld ix,hdr
        ld l,(ix+0)
        ld h,(ix+1)
        call decimal
        ld a," "
        call putc
        ld a,(hdr+7)
        call hex
        ld a,(hdr+6)
        call hex
        ld a," "
        call putc
        ld a,(hdr+9)
        call hex
        ld a,(hdr+8)
        call hex
        call crlf
        ld hl,tptr              ; relocated pointers into each area agree
        call print
        ld hl,(pdata)
        ld de,(hdr+6)
        or a
        sbc hl,de
        ld a,"?"
        jr nz,ptr1
        ld hl,(ptrn)
        ld de,(hdr+8)
        or a
        sbc hl,de
        jr nz,ptr1
        ld hl,(pcode)
        ld de,hdr
        or a
        sbc hl,de
        jr nz,ptr1
        ld a,"y"
ptr1:   call putc
        call crlf
        ld hl,tids
        call print
        ld hl,816ch             ; MTGPID: E = our process id
        rst 28h
        ld l,e
        ld h,0
        call decimal
        ld a," "
        call putc
        ld a,(appstk+14)
        ld l,a
        ld h,0
        call decimal
        ld a," "
        call putc
        ld a,(hdr+88)           ; application id
        ld l,a
        ld h,0
        call decimal
        ld a," "
        call putc
        ld hl,8133h             ; BNKGET: E = our bank
        rst 28h
        ld l,e
        ld h,0
        call decimal
        call crlf
        ld hl,tbye
        call print
        jp quit

pcode:  dw hdr                  ; a pointer into each area
pdata:  dw datbeg
ptrn:   dw trnbeg

        include "lib.inc"

datbeg:
thello: db "Hello from SymbOS",13,10,"command line: ",0
tregs:  db "start frame: ",0
tlayout: db "layout: ",0
tptr:   db "pointers: ",0
tids:   db "ids: ",0
tbye:   db "bye",13,10,0

trnbeg:
        ds 256                  ; stack
appstk: dw 1111h,2222h,3333h,4444h,5555h,6600h ; IY IX HL DE BC AF
        dw start
        db 0                    ; our process id (the loader writes it)
msgbuf: ds 14
trnend:
