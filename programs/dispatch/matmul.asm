; class: loop-parallel
; Matrix multiply: C = A x B for 32x32 matrices of bytes, 16-bit results. One
; loop over the 1024 elements n (row n/32, column n mod 32), each a 32-term dot
; product with a shift-and-add multiply; prints the 16-bit sum of C.
        ORG     100H
        JP      main
        INCLUDE "lib.inc"
MA      EQU     4000H
MB      EQU     4400H
MC      EQU     5000H

work:   LD      HL,MA
        LD      BC,2048
fillm:  LD      A,L
        ADD     A,A
        ADD     A,L
        XOR     H
        LD      (HL),A
        INC     HL
        DEC     BC
        LD      A,B
        OR      C
        JR      NZ,fillm

        LD      BC,0
elem:   PUSH    BC
        LD      A,C
        AND     0E0H
        LD      L,A
        LD      H,B
        LD      DE,MA
        ADD     HL,DE
        PUSH    HL
        POP     IX
        LD      A,C
        AND     1FH
        LD      L,A
        LD      H,0
        LD      DE,MB
        ADD     HL,DE
        PUSH    HL
        POP     IY
        LD      B,32
        LD      HL,0
kl:     PUSH    BC
        PUSH    HL
        LD      A,(IX+0)
        LD      E,(IY+0)
        CALL    mul8
        POP     DE
        ADD     HL,DE
        INC     IX
        LD      DE,32
        ADD     IY,DE
        POP     BC
        DJNZ    kl
        EX      DE,HL
        POP     HL
        PUSH    HL
        ADD     HL,HL
        LD      BC,MC
        ADD     HL,BC
        LD      (HL),E
        INC     HL
        LD      (HL),D
        POP     BC
        INC     BC
        LD      A,B
        CP      4
        JR      NZ,elem

        LD      DE,MC
        LD      BC,1024
        CALL    sumw
        RET


name:   DB      'matmul $'
