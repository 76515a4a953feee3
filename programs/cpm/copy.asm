; copy: `copy SRC DST` copies a file record by record with sequential reads and
; writes (BDOS 20/21), the names taken from the default FCBs the command line filled.
; Prints "copied N records" or a reason it could not.
        org     100h
start:  ld      sp,stack
        ld      hl,fcb2         ; FCB 2 overlaps FCB 1's tail: move it away first
        ld      de,dst
        ld      bc,16
        ldir
        xor     a
        ld      (dst+32),a      ; cr = 0: start at the first record
        ld      (fcb1+32),a
        ld      de,fcb1
        ld      c,f_open
        call    bdos
        inc     a               ; 0FFh = not found
        ld      de,nosrc
        jr      z,fail
        ld      de,dst
        ld      c,f_delete
        call    bdos
        ld      de,dst
        ld      c,f_make
        call    bdos
        inc     a
        ld      de,nodir
        jr      z,fail
        ld      de,buf
        ld      c,f_dma
        call    bdos
        ld      hl,0
        ld      (count),hl
next:   ld      de,fcb1
        ld      c,f_read
        call    bdos
        or      a               ; 1 = end of file
        jr      nz,eof
        ld      de,dst
        ld      c,f_write
        call    bdos
        or      a
        ld      de,full
        jr      nz,fail
        ld      hl,(count)
        inc     hl
        ld      (count),hl
        jr      next
eof:    ld      de,dst
        ld      c,f_close
        call    bdos
        inc     a
        ld      de,noclose
        jr      z,fail
        ld      de,copied
        call    print
        ld      hl,(count)
        call    prdec
        ld      de,records
fail:   call    print
        jp      wboot

copied: db      'copied $'
records: db     ' records', 13, 10, '$'
nosrc:  db      'no source file', 13, 10, '$'
nodir:  db      'no directory space', 13, 10, '$'
full:   db      'disk full', 13, 10, '$'
noclose: db     'cannot close', 13, 10, '$'

        include "cpm.inc"

count:  dw      0
dst:    ds      36
buf:    ds      128
        ds      64
stack:
