; kernel: the message restarts and the bank functions. Polls an empty queue;
; posts two messages to itself with two sender ids and receives them by sender;
; sends to a process that does not exist; fills its queue; asks the kernel to add
; a process and the system manager for a shared service (both answer "failed");
; reads and writes bytes and words, modifies a byte and copies a block through
; RST 20h; allocates and frees transfer memory; yields; then quits.
xcode   equ 0
xdata   equ 0
xtrn    equ 0
        include "head.inc"
        db "Kernel"
        include "head2.inc"

start:  call init
        ld hl,tpoll             ; RST 18h on an empty queue: IXL = 0
        call print
        call poll
        db 0ddh
        ld a,l
        call hex
        call crlf
        ld a,"A"                ; post "A" from 50 and "B" from 51 to ourselves
        ld c,50
        call post
        ld a,"B"
        ld c,51
        call post
        ld hl,tfrom             ; receive from 51 first, then from anyone
        call print
        ld a,51
        call pollfrom
        ld a,255
        call pollfrom
        call crlf
        ld hl,tnone             ; a receiver that does not exist: status 2
        call print
        ld a,99
        call send
        db 0ddh
        ld a,l
        call hex
        call crlf
        ld b,0                  ; fill the queue: count the messages taken
        ld c,0
fill:   push bc
        ld a,(appstk+14)
        call send
        pop bc
        db 0ddh
        ld a,l
        or a
        jr z,full
        inc c
        djnz fill
full:   ld a,c
        ld (taken),a
        ld b,0                  ; and drain it
drain:  push bc
        ld a,255
        db 0ddh
        ld h,a
        call poll
        pop bc
        db 0ddh
        ld a,l
        or a
        jr z,drained
        inc b
        jr drain
drained: ld a,b
        ld (drawn),a
        ld hl,tqueue
        call print
        ld a,(taken)
        ld l,a
        ld h,0
        call decimal
        ld a," "
        call putc
        ld a,(drawn)
        ld l,a
        ld h,0
        call decimal
        call crlf
        ld hl,tkernel           ; kernel: add a process -> 129, status 1
        call print
        ld ix,msgbuf
        ld (ix+0),1
        ld a,1
        call send
        ld bc,129*256+1
        call await
        ld a,(msgbuf+1)
        call hex
        ld a," "
        call putc
        ld ix,msgbuf            ; system manager: find a shared service -> 158, 5
        ld (ix+0),30
        ld (ix+4),0
        ld a,SYSPID
        call send
        ld bc,158*256+SYSPID
        call await
        ld a,(msgbuf+1)
        call hex
        call crlf
        ld hl,tbank             ; bank functions in our own bank
        call print
        ld a,(hdr+14)
        ld hl,var
        ld b,5ah
        rst 20h
        dw 812dh                ; BNKWBT
        ld a,(hdr+14)
        ld hl,var
        rst 20h
        dw 812ah                ; BNKRBT: B
        ld a,b
        call hex
        ld a," "
        call putc
        ld a,(hdr+14)
        ld hl,var
        ld bc,1234h
        rst 20h
        dw 8127h                ; BNKWWD
        ld a,(hdr+14)
        ld hl,var
        rst 20h
        dw 8124h                ; BNKRWD: BC
        ld a,b
        push bc
        call hex
        pop bc
        ld a,c
        call hex
        ld a," "
        call putc
        ld a,(hdr+14)
        ld hl,var
        ld de,80f0h             ; AND f0, OR 80
        rst 20h
        dw 8121h                ; BNKMBT: A
        call hex
        ld a," "
        call putc
        ld a,(hdr+14)           ; BNKCOP: source and destination bank in A
        ld b,a
        rlca
        rlca
        rlca
        rlca
        or b
        ld hl,tcopy
        ld de,copied
        ld bc,7
        rst 20h
        dw 8130h
        ld hl,copied
        call print
        call crlf
        ld hl,tmem              ; MEMGET 300 bytes of transfer memory, then MEMFRE
        call print
        xor a
        ld e,2
        ld bc,300
        rst 20h
        dw 8118h
        push hl
        ld a,"c"
        jr nc,got
        ld a,"C"
got:    call putc
        ld a," "
        call putc
        pop hl
        push hl
        ld a,h
        cp 0c0h
        ld a,"y"
        jr nc,hi1
        ld a,"n"
hi1:    call putc
        pop hl
        ld a,(hdr+14)
        ld bc,300
        rst 20h
        dw 811bh
        ld hl,8100h             ; MEMSUM: D = banks
        rst 28h
        ld a," "
        call putc
        ld a,d
        call hex
        call crlf
        rst 30h                 ; yield
        ld hl,tdone
        call print
        jp quit

; poll: RST 18h for anyone (IXH as set, or -1); the message lands in msgbuf.
poll:   ld a,(appstk+14)
        db 0ddh
        ld l,a
        ld iy,msgbuf
        rst 18h
        ret

; pollfrom: receives from process A and prints "<sender>:<first byte> ".
pollfrom:
        db 0ddh
        ld h,a
        call poll
        ld a,(msgbuf)
        ld (first),a
        db 0ddh
        ld a,h
        ld l,a
        ld h,0
        call decimal
        ld a,":"
        call putc
        ld a,(first)
        call putc
        ld a," "
        jp putc

; post: sends a message starting with A to ourselves as if from process C.
post:   ld (msgbuf),a
        ld a,c
        db 0ddh
        ld l,a
        ld a,(appstk+14)
        db 0ddh
        ld h,a
        ld iy,msgbuf
        rst 10h
        ret

var:    dw 0
first:  db 0
taken:  db 0
drawn:  db 0
copied: ds 8

        include "lib.inc"

datbeg:
tpoll:  db "poll ",0
tfrom:  db "from ",0
tnone:  db "to 99 ",0
tqueue: db "queue ",0
tkernel: db "kernel ",0
tbank:  db "bank ",0
tcopy:  db "copied",0
tmem:   db "memory ",0
tdone:  db "done",13,10,0

trnbeg:
        include "frame.inc"
trnend:
