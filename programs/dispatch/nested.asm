; class: partly-parallel
; Nested loops with a triangular shape: for i < 256, t[i] = the sum over j in
; 1..i of the low byte of i*j xor its high byte. The inner loop carries its sum;
; the outer iterations are independent but grow longer. Prints the sum of t.
        ORG     100H
        JP      main
        INCLUDE "lib.inc"
TBL     EQU     4000H

work:   LD      C,0
outer:  LD      B,C
        LD      HL,0
        LD      A,C
        OR      A
        JR      Z,store
inner:  PUSH    BC
        PUSH    HL
        LD      A,B
        LD      E,C
        CALL    mul8
        LD      A,L
        XOR     H
        POP     HL
        ADD     A,L
        LD      L,A
        JR      NC,in1
        INC     H
in1:    POP     BC
        DJNZ    inner
store:  EX      DE,HL
        LD      H,0
        LD      L,C
        ADD     HL,HL
        LD      A,H
        ADD     A,TBL/256
        LD      H,A
        LD      (HL),E
        INC     HL
        LD      (HL),D
        INC     C
        JR      NZ,outer

        LD      DE,TBL
        LD      BC,256
        CALL    sumw
        RET


name:   DB      'nested $'
