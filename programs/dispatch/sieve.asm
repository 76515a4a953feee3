; class: loop-parallel
; Sieve segments: the numbers 0..65535 in 256 segments of 256; each segment is
; cleared, the multiples of every prime below 256 in it are marked (from the
; segment's base by a 16/8 division), and its unmarked numbers counted into a
; table; prints the 16-bit sum of the table (0 and 1 count as unmarked).
        ORG     100H
        JP      main
        INCLUDE "lib.inc"
BUF     EQU     7000H
COUNTS  EQU     7100H

work:   LD      DE,0
        LD      IX,COUNTS
        LD      B,0
seg:    PUSH    BC
        PUSH    DE
        LD      HL,BUF
        LD      B,0
        XOR     A
clr:    LD      (HL),A
        INC     HL
        DJNZ    clr
        LD      IY,primes
pl:     LD      A,(IY+0)
        OR      A
        JR      Z,pdone
        LD      C,A
        POP     DE
        PUSH    DE
        LD      A,D
        OR      A
        JR      NZ,notz
        LD      A,C
        ADD     A,A
        JR      C,pnext
        JR      mark0
notz:   LD      H,D
        LD      L,E
        CALL    div8
        OR      A
        JR      Z,mark0
        LD      B,A
        LD      A,C
        SUB     B
mark0:  LD      HL,BUF
        LD      L,A
mk:     LD      (HL),1
        LD      A,L
        ADD     A,C
        JR      C,pnext
        LD      L,A
        JR      mk
pnext:  INC     IY
        JR      pl
pdone:  LD      HL,BUF
        LD      B,0
        LD      E,0
cnt:    LD      A,(HL)
        OR      A
        JR      NZ,cn1
        INC     E
cn1:    INC     HL
        DJNZ    cnt
        LD      (IX+0),E
        INC     IX
        POP     DE
        INC     D
        POP     BC
        DJNZ    seg

        LD      DE,COUNTS
        LD      BC,128
        CALL    sumw
        RET


; HL = HL / C, A = HL mod C (C nonzero). Clobbers B.
div8:   XOR     A
        LD      B,16
d1:     ADD     HL,HL
        RLA
        JR      C,d2
        CP      C
        JR      C,d3
d2:     SUB     C
        INC     L
d3:     DJNZ    d1
        RET
primes: DB      2,3,5,7,11,13,17,19,23,29,31,37,41,43,47,53,59,61,67,71,73,79,83,89,97
        DB      101,103,107,109,113,127,131,137,139,149,151,157,163,167,173,179,181,191
        DB      193,197,199,211,223,227,229,233,239,241,251,0
name:   DB      'sieve $'
