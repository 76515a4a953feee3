; echo: reads lines with BDOS 10 (the console buffer, with CP/M's line editing) and
; echoes each back in brackets with its length, until an empty line.
        org     100h
start:  ld      sp,stack
line:   ld      de,prompt
        call    print
        ld      a,40
        ld      (inbuf),a       ; mx: at most 40 characters
        ld      de,inbuf
        ld      c,c_rline
        call    bdos
        ld      e,10            ; CP/M returns the carriage only: add the line feed
        ld      c,c_write
        call    bdos
        ld      a,(inbuf+1)     ; nc
        or      a
        jr      z,bye
        ld      l,a
        ld      h,0
        ld      de,inbuf+2
        add     hl,de
        ld      (hl),'$'        ; terminate the text for BDOS 9
        ld      a,'['
        call    putc
        ld      de,inbuf+2
        call    print
        ld      de,close
        call    print
        ld      a,(inbuf+1)
        ld      l,a
        ld      h,0
        call    prdec
        call    crlf
        jr      line
bye:    ld      de,byes
        call    print
        jp      wboot

prompt: db      '> $'
close:  db      '] $'
byes:   db      'bye', 13, 10, '$'

        include "cpm.inc"

inbuf:  ds      43
        ds      64
stack:
