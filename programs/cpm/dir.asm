; dir: lists the files matching the first command-line name (all files if none) with
; BDOS search first/next (17/18): each entry found is one of the four 32-byte
; directory entries the BDOS put in the DMA buffer, at 32 times the code in A.
        org     100h
start:  ld      sp,stack
        ld      a,(fcb1+1)
        cp      ' '
        jr      nz,search
        ld      hl,fcb1+1       ; no name: every name
        ld      b,11
all:    ld      (hl),'?'
        inc     hl
        djnz    all
search: xor     a
        ld      (fcb1+12),a     ; extent 0: each file once
        ld      (fcb1+14),a
        ld      hl,0
        ld      (count),hl
        ld      de,fcb1
        ld      c,f_sfirst
found:  call    bdos
        cp      0ffh
        jr      z,done
        rrca                    ; A * 32: the entry in the record at 0080h
        rrca
        rrca
        and     60h
        add     a,tbuff+1 and 0ffh
        ld      l,a
        ld      h,0
        ld      b,8
        call    part            ; name, spaces dropped
        ld      a,'.'
        call    putc
        ld      b,3
        call    part            ; type
        call    crlf
        ld      hl,(count)
        inc     hl
        ld      (count),hl
        ld      c,f_snext
        ld      de,fcb1
        jr      found
done:   ld      hl,(count)
        call    prdec
        ld      de,files
        call    print
        jp      wboot

; part: prints B bytes from HL, attribute bits cleared and spaces skipped; HL moves on.
part:   ld      a,(hl)
        inc     hl
        and     7fh
        cp      ' '
        jr      z,skip
        push    hl
        push    bc
        call    putc
        pop     bc
        pop     hl
skip:   djnz    part
        ret

files:  db      ' file(s)', 13, 10, '$'

        include "cpm.inc"

count:  dw      0
        ds      64
stack:
