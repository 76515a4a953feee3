; input: SymShell input. CHRINP reads a key; CHRTST peeks at the next one (left in
; the buffer) and CHRINP then reads it; STRINP reads lines until EOF, each printed
; with its number and length; PTHADD builds two paths; then it quits.
xcode   equ 0
xdata   equ 0
xtrn    equ 0
        include "head.inc"
        db "Input"
        include "head2.inc"

start:  call init
        ld hl,tkey
        call print
        call getc               ; CHRINP
        push af
        ld hl,tgot
        call print
        pop af
        call hex
        call crlf
        ld ix,msgbuf            ; CHRTST, lookahead: leave it in the buffer
        ld (ix+0),70
        ld (ix+1),0
        ld (ix+2),0
        ld b,198
        call shcmd
        call keep
        ld hl,ttest
        call print
        ld a,(reply+1)          ; state 2 = a char
        call hex
        ld a," "
        call putc
        ld a,(reply+2)
        call hex
        call crlf
        call getc               ; the same key again
        push af
        ld hl,tgot
        call print
        pop af
        call hex
        call crlf
        ld hl,0
        ld (count),hl
lines:  ld ix,msgbuf            ; STRINP into line
        ld (ix+0),65
        ld (ix+1),0
        ld a,(hdr+14)
        ld (ix+2),a
        ld hl,line
        ld (ix+3),l
        ld (ix+4),h
        ld b,193
        call shcmd
        ld a,(msgbuf+1)
        or a
        jr nz,eof
        ld hl,(count)
        inc hl
        ld (count),hl
        ld a,"["
        call putc
        ld hl,(count)
        call decimal
        ld hl,tclose
        call print
        ld hl,line
        call print
        ld a,"|"
        call putc
        ld hl,line              ; its length
        ld bc,0
len1:   ld a,(hl)
        or a
        jr z,len2
        inc hl
        inc bc
        jr len1
len2:   ld h,b
        ld l,c
        call decimal
        call crlf
        jr lines
eof:    ld hl,teof
        call print
        ld de,0                 ; PTHADD from the shell's path
        ld hl,padd1
        call path
        ld de,pbase             ; PTHADD from a base of our own
        ld hl,padd2
        call path
        jp quit

; getc: CHRINP from the standard channel; A = the key (EOF prints and quits).
getc:   ld ix,msgbuf
        ld (ix+0),64
        ld (ix+1),0
        ld b,192
        call shcmd
        ld a,(msgbuf+1)
        or a
        ld a,(msgbuf+2)
        ret z
        ld hl,teof
        call print
        jp quit

; path: PTHADD base DE (0 = the shell's), component HL; prints the new path, the
; offsets of its end and of the part after the last \ inside the buffer, and the flags.
path:   ld ix,msgbuf
        ld (ix+0),69
        ld (ix+1),e
        ld (ix+2),d
        ld (ix+3),l
        ld (ix+4),h
        ld hl,pathbuf
        ld (ix+5),l
        ld (ix+6),h
        ld a,(hdr+14)
        ld (ix+7),a
        ld b,197
        call shcmd
        call keep
        ld hl,pathbuf
        call print
        ld a," "
        call putc
        ld hl,(reply+1)
        ld de,pathbuf
        or a
        sbc hl,de
        call decimal
        ld a," "
        call putc
        ld hl,(reply+3)
        ld de,pathbuf
        or a
        sbc hl,de
        call decimal
        ld a," "
        call putc
        ld a,(reply+5)
        call hex
        jp crlf

count:  dw 0

        include "lib.inc"

datbeg:
tkey:   db "key? ",0
tgot:   db "got ",0
ttest:  db "test ",0
tclose: db "] ",0
teof:   db "EOF",13,10,0
padd1:  db "../docs/*.txt",0
pbase:  db "C:\\symbos\\apps",0
padd2:  db "..\\music/mp3/song.mp3",0

trnbeg:
        include "frame.inc"
line:   ds 256
pathbuf: ds 256
trnend:
