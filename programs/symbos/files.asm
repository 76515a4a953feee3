; files: the file manager through the system manager (message 26, answer 154):
; FILNEW/FILOUT/FILCLO write a file, FILOPN/FILLIN read it back by lines,
; FILPOI/FILINP read from an offset and find the length, DIRREN renames it,
; DIRINP lists the disk, STOTRN reads the first directory sector, STOTRN writes a
; directory entry and a data sector (a file made raw, then read back by FILLIN) and
; has a directory sector that does not decode refused, DIRDEL deletes, DIRINF counts
; the free sectors; errors print as "error N".
xcode   equ 0
xdata   equ 0
xtrn    equ 0
        include "head.inc"
        db "Files"
        include "head2.inc"

start:  call init
        call bankix
        ld hl,pnotes            ; FILNEW A:\NOTES.TXT
        xor a
        call fm
        db 17
        call check
        ld (handle),a
        ld hl,text              ; FILOUT the text
        ld bc,textend-text
        call bank_e
        ld a,(handle)
        call fm
        db 21
        call check
        push bc
        ld hl,twrote
        call print
        pop hl
        call decimal
        call crlf
        ld a,(handle)           ; FILCLO
        call fm
        db 19
        call check

        call bankix             ; FILOPN notes.txt, FILLIN line by line
        ld hl,pnotes2
        call fm
        db 18
        call check
        ld (handle),a
lines:  ld hl,buf
        call bank_e
        ld a,(handle)
        call fm
        db 25
        call check
        jr z,lines2
        ld hl,tline
        call print
        ld hl,buf
        call print
        call crlf
        jr lines
lines2: ld a,(handle)
        call fm
        db 19

        call bankix             ; FILPOI to 6, FILINP 4 bytes
        ld hl,pnotes
        call fm
        db 18
        call check
        ld (handle),a
        ld iy,0
        ld ix,6
        ld c,0
        ld a,(handle)
        call fm
        db 22
        call check
        ld hl,buf
        ld bc,4
        call bank_e
        ld a,(handle)
        call fm
        db 20
        call check
        xor a
        ld (buf+4),a
        ld hl,tat6
        call print
        ld hl,buf
        call print
        call crlf
        ld iy,0                 ; FILPOI to the end: the length
        ld ix,0
        ld c,2
        ld a,(handle)
        call fm
        db 22
        call check
        push ix
        ld hl,tlen
        call print
        pop hl
        call decimal
        call crlf
        ld hl,buf               ; FILINP at the end: nothing, Z clear
        ld bc,10
        call bank_e
        ld a,(handle)
        call fm
        db 20
        ld a,"Z"
        jr z,atend
        ld a,"z"
atend:  push bc
        call putc
        pop hl
        call decimal
        call crlf
        ld a,(handle)
        call fm
        db 19

        call bankix             ; DIRREN NOTES.TXT -> MEMO.TXT
        ld hl,pnotes
        ld de,pmemo
        call fm
        db 36
        call check
        call listing

        call bankix             ; FILOPN of the old name fails
        ld hl,pnotes
        call fm
        db 18
        call check

        call bankix             ; a path through a directory fails
        ld hl,psub
        xor a
        call fm
        db 17
        call check

        ld ix,0                 ; STOTRN: sector 0 of device 0 (the directory)
        ld c,0
        call sector
        ld hl,tsector
        call print
        ld a,(buf)
        call hex
        ld a," "
        call putc
        xor a
        ld (buf+12),a
        ld hl,buf+1
        call print
        call crlf

        ld hl,rawent            ; slot 3 of sector 0: SECTOR.TXT, 1 record in block 200
        ld de,buf+96
        ld bc,32
        ldir
        ld ix,0
        call putsec
        ld hl,buf               ; sector 400 (block 200): a line, then ^Z
        ld (hl),26
        ld de,buf+1
        ld bc,511
        ldir
        ld hl,rawtxt
        ld de,buf
        ld bc,rawend-rawtxt
        ldir
        ld ix,400
        call putsec
        call bankix             ; FILOPN SECTOR.TXT, FILLIN its line
        ld hl,psector
        call fm
        db 18
        call check
        ld (handle),a
        ld hl,buf
        call bank_e
        ld a,(handle)
        call fm
        db 25
        call check
        ld hl,tline
        call print
        ld hl,buf
        call print
        call crlf
        ld a,(handle)
        call fm
        db 19
        ld ix,0                 ; sector 0 again, slot 4's user byte 30h: error 18
        ld c,0
        call sector
        ld a,30h
        ld (buf+128),a
        ld ix,0
        call putsec

        call bankix             ; DIRDEL MEMO.*
        ld hl,pmask
        call fm
        db 39
        call check
        call listing
        call bankix             ; DIRDEL SECTOR.TXT (its block is free again)
        ld hl,psector
        call fm
        db 39
        call check

        ld a,"A"                ; DIRINF: free 512-byte sectors
        ld c,1
        call fm
        db 42
        call check
        ld hl,tfree
        call print
        ex de,hl
        call decimal
        call crlf
        jp quit

; listing: DIRINP of A:\*.* into dirbuf; prints the count and each name and length.
listing:
        call bankix
        ld a,(hdr+14)
        ld hl,pall
        ld de,dirbuf
        ld bc,dirend-dirbuf
        ld iy,0
        call fm
        db 38
        call check
        ld (left),hl
        ld hl,tfiles
        call print
        ld hl,(left)
        call decimal
        call crlf
        ld hl,dirbuf
        ld (entry),hl
list1:  ld hl,(left)
        ld a,h
        or l
        ret z
        dec hl
        ld (left),hl
        ld a," "
        call putc
        ld hl,(entry)
        ld de,9
        add hl,de
        call print
        ld a," "
        call putc
        ld hl,(entry)
        ld a,(hl)
        inc hl
        ld h,(hl)
        ld l,a
        call decimal
        call crlf
        ld hl,(entry)
        ld de,9
        add hl,de
list2:  ld a,(hl)               ; next entry: after the name's 0
        inc hl
        or a
        jr nz,list2
        ld (entry),hl
        jr list1

left:   dw 0
entry:  dw 0

; sector: STOTRN moves sector IX of device 0 to buf (C = 0) or from buf (C = 1).
; putsec: writes buf to sector IX.
putsec: ld c,1
sector: ld b,1
        ld hl,buf
        call bank_e
        ld iy,0
        xor a
        call fm
        db 8
        jp check

; check: after a file manager call, prints "error N" if carry is set (keeps flags).
check:  ret nc
        push af
        ld hl,terror
        call print
        pop af
        push af
        ld l,a
        ld h,0
        call decimal
        call crlf
        pop af
        ret

; bankix: IXH = our bank (for paths). bank_e: E = our bank (for buffers).
bankix: ld a,(hdr+14)
        db 0ddh
        ld h,a
        ret
bank_e: ld a,(hdr+14)
        ld e,a
        ret

handle: db 0

        include "lib.inc"

datbeg:
pnotes: db "A:\\NOTES.TXT",0
pnotes2: db "notes.txt",0
pmemo:  db "MEMO.TXT",0
psub:   db "A:\\SUB\\X.TXT",0
pall:   db "A:\\*.*",0
pmask:  db "A:/MEMO.*",0
text:   db "first line",13,10,"second line",10,13,"third",13,"last",13,10
textend:
twrote: db "wrote ",0
tline:  db "> ",0
tat6:   db "at 6: ",0
tlen:   db "length ",0
tfiles: db "files ",0
tsector: db "sector 0: ",0
tfree:  db "free sectors ",0
terror: db "error ",0
psector: db "SECTOR.TXT",0
rawent: db 0,"SECTOR  TXT",0,0,0,1,200
        ds 15
rawtxt: db "written raw",13,10
rawend:

trnbeg:
        include "frame.inc"
buf:    ds 512
dirbuf: ds 200
dirend:
trnend:
