; class: sequential
; Linked-list walk: 4096 nodes of 4 bytes (next, value) laid out in the order
; k*1237 mod 4096, linked in k order; PASSES walks add up the values. Each step
; needs the pointer the previous one loaded. Prints the 16-bit sum.
        ORG     100H
        JP      main
        INCLUDE "lib.inc"
BASE    EQU     4000H
NODES   EQU     4096
PASSES  EQU     24

; HL = BASE + 4 * (DE mod 4096)
addr:   LD      A,D
        AND     0FH
        LD      H,A
        LD      L,E
        ADD     HL,HL
        ADD     HL,HL
        LD      A,H
        ADD     A,BASE/256
        LD      H,A
        RET

work:   LD      DE,0
        CALL    addr
        LD      (head),HL
        LD      BC,NODES-1
build:  PUSH    BC
        PUSH    HL
        LD      HL,1237
        ADD     HL,DE
        EX      DE,HL
        CALL    addr
        LD      B,H
        LD      C,L
        POP     HL
        LD      (HL),C
        INC     HL
        LD      (HL),B
        INC     HL
        LD      (HL),E
        LD      H,B
        LD      L,C
        POP     BC
        DEC     BC
        LD      A,B
        OR      C
        JR      NZ,build
        XOR     A
        LD      (HL),A
        INC     HL
        LD      (HL),A
        INC     HL
        LD      (HL),E

        LD      BC,0
        LD      A,PASSES
walk:   LD      (count),A
        LD      HL,(head)
wl:     LD      E,(HL)
        INC     HL
        LD      D,(HL)
        INC     HL
        LD      A,(HL)
        ADD     A,C
        LD      C,A
        JR      NC,w1
        INC     B
w1:     EX      DE,HL
        LD      A,H
        OR      L
        JR      NZ,wl
        LD      A,(count)
        DEC     A
        JR      NZ,walk
        LD      H,B
        LD      L,C
        RET

name:   DB      'listwalk $'
head:   DW      0
count:  DB      0
