; random: random-access file I/O. Writes records at scattered record numbers (BDOS
; 34, across four extents), asks the file size (35), reads them back in reverse
; order (33) checking every byte and summing them, reads unwritten records (return
; codes 1 and 4), then switches from random to sequential reading (20) and asks the
; record number reached (36). Record r holds bytes (j + r0 + r1) mod 256, j = 0..127.
        org     100h
start:  ld      sp,stack
        ld      de,rfcb
        ld      c,f_delete
        call    bdos
        ld      de,rfcb
        ld      c,f_make
        call    bdos
        inc     a
        ld      de,nodir
        jp      z,fail
        ld      de,buf
        ld      c,f_dma
        call    bdos
        ld      hl,table        ; write every record of the table
wloop:  ld      e,(hl)
        inc     hl
        ld      d,(hl)
        inc     hl
        ld      a,d
        and     e
        inc     a               ; 0FFFFh ends the table
        jr      z,wdone
        ld      (ptr),hl
        ex      de,hl
        call    seek
        call    fill
        ld      de,rfcb
        ld      c,f_rwrite
        call    bdos
        or      a
        ld      de,werr
        jp      nz,fail
        ld      hl,(count)
        inc     hl
        ld      (count),hl
        ld      hl,(ptr)
        jr      wloop
wdone:  ld      de,wrote
        call    print
        ld      hl,(count)
        call    prdec
        ld      de,records
        call    print
        ld      de,rfcb         ; file size in records
        ld      c,f_size
        call    bdos
        ld      de,sizes
        call    print
        ld      hl,(rfcb+33)
        call    prdec
        call    crlf
        ld      hl,tabend-1     ; read back, last written first
rloop:  ld      d,(hl)
        dec     hl
        ld      e,(hl)
        dec     hl
        ld      (ptr),hl
        ex      de,hl
        call    seek
        ld      de,rfcb
        ld      c,f_rread
        call    bdos
        or      a
        ld      de,rerr
        jp      nz,fail
        call    check
        ld      hl,(ptr)
        ld      de,table
        or      a
        sbc     hl,de
        ld      hl,(ptr)        ; loads leave the flags alone
        jr      nc,rloop
        ld      de,sums
        call    print
        ld      hl,(sum)
        call    prhex16
        call    crlf
        ld      de,unwr         ; record 20: its block was never written
        call    print
        ld      hl,20
        call    rcode
        ld      hl,600          ; record 600: extent 4 does not exist
        call    rcode
        call    crlf
        ld      de,seqs         ; random read of 128, then two sequential reads
        call    print
        ld      hl,128
        call    seek
        ld      de,rfcb
        ld      c,f_rread
        call    bdos
        call    sread           ; reads record 128 again
        call    sread           ; then 129
        call    crlf
        ld      de,rfcb         ; the record a random access would use next
        ld      c,f_setrr
        call    bdos
        ld      de,nexts
        call    print
        ld      hl,(rfcb+33)
        call    prdec
        call    crlf
        ld      de,rfcb
        ld      c,f_close
        call    bdos
        inc     a
        ld      de,noclose
        jr      z,fail
        ld      de,closed
fail:   call    print
        jp      wboot

; seek: sets the random record of rfcb to HL.
seek:   ld      (rfcb+33),hl
        xor     a
        ld      (rfcb+35),a
        ret

; fill: fills buf with the pattern of the record in rfcb.
fill:   ld      hl,(rfcb+33)
        ld      a,l
        add     a,h
        ld      hl,buf
        ld      b,128
fill1:  ld      (hl),a
        inc     a
        inc     hl
        djnz    fill1
        ret

; check: checks buf against the pattern of rfcb's record and adds it to sum.
check:  ld      hl,(rfcb+33)
        ld      a,l
        add     a,h
        ld      c,a             ; expected byte
        ld      hl,buf
        ld      de,(sum)
        ld      b,128
check1: ld      a,(hl)
        cp      c
        jr      nz,bad
        add     a,e
        ld      e,a
        jr      nc,check2
        inc     d
check2: inc     c
        inc     hl
        djnz    check1
        ld      (sum),de
        ret
bad:    ld      de,bads
        jr      fail

; rcode: random read of record HL; prints the return code in hex.
rcode:  call    seek
        ld      de,rfcb
        ld      c,f_rread
        call    bdos
        push    af
        ld      a,' '
        call    putc
        pop     af
        jp      prhex8

; sread: sequential read; prints the first byte read.
sread:  ld      de,rfcb
        ld      c,f_read
        call    bdos
        or      a
        ld      de,rerr
        jr      nz,fail
        ld      a,' '
        call    putc
        ld      a,(buf)
        jp      prhex8

table:  dw      300, 5, 129, 0, 128, 127, 1000
tabend: dw      0ffffh

rfcb:   db      0, 'RANDOM  DAT'
        ds      24
wrote:  db      'wrote $'
records: db     ' records', 13, 10, '$'
sizes:  db      'size $'
sums:   db      'checksum $'
unwr:   db      'unwritten$'
seqs:   db      'sequential after random:$'
nexts:  db      'next record $'
closed: db      'closed', 13, 10, '$'
nodir:  db      'no directory space', 13, 10, '$'
werr:   db      'write error', 13, 10, '$'
rerr:   db      'read error', 13, 10, '$'
bads:   db      'bad data', 13, 10, '$'
noclose: db     'cannot close', 13, 10, '$'

        include "cpm.inc"

count:  dw      0
sum:    dw      0
ptr:    dw      0
buf:    ds      128
        ds      64
stack:
