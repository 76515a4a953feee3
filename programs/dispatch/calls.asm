; class: partly-parallel
; Two independent calls per step of a carried loop: for 32 steps, a seed
; x = 5x + 3779h (carried, no stride) picks two 1 KiB blocks of 16 KiB of
; generated data; a CRC-16-CCITT (bit by bit) of each block is stored. Each
; CRC is sequential inside and the step loop carries the seed, so no loop is
; parallel; the first call's CRC and the rest of the step (the second call)
; are independent. Prints the sum of the stored CRCs.
        ORG     100H
        JP      main
        INCLUDE "lib.inc"
SRC     EQU     4000H
CRCS    EQU     8000H
STEPS   EQU     32

; DE = CRC-16-CCITT of the BC bytes at HL, from DE; stored at (dst), low byte
; first. Clobbers A, BC, DE, HL. It sits below its callers: their CALLs are
; backward transfers, told apart from loop branches by their opcode.
crcblk: LD      A,B
        OR      C
        RET     Z
cbyte:  LD      A,(HL)
        XOR     D
        LD      D,A
        PUSH    BC
        LD      B,8
cbit:   SLA     E
        RL      D
        JR      NC,nox
        LD      A,D
        XOR     10H
        LD      D,A
        LD      A,E
        XOR     21H
        LD      E,A
nox:    DJNZ    cbit
        POP     BC
        INC     HL
        DEC     BC
        LD      A,B
        OR      C
        JR      NZ,cbyte
        LD      HL,(dst)
        LD      (HL),E
        INC     HL
        LD      (HL),D
        RET

work:   LD      HL,SRC
fill:   LD      A,L
        XOR     H
        ADD     A,L
        LD      (HL),A
        INC     HL
        LD      A,H
        CP      80H
        JR      NZ,fill

        LD      HL,1234H
        LD      (seed),HL
        LD      HL,CRCS
        LD      (dst),HL
        LD      A,STEPS
        LD      (steps),A
step:   LD      HL,(seed)       ; block A from the seed's high byte
        LD      A,H
        AND     3CH
        OR      40H
        LD      H,A
        LD      L,0
        LD      DE,0FFFFH
        LD      BC,1024
        CALL    crcblk          ; stores at (dst)
        LD      HL,(dst)        ; the rest of the step: block B at dst+2
        INC     HL
        INC     HL
        LD      (dst),HL
        LD      HL,(seed)       ; block B from the seed's low byte
        LD      A,L
        AND     3CH
        OR      40H
        LD      H,A
        LD      L,0
        LD      DE,0FFFFH
        LD      BC,1024
        CALL    crcblk
        LD      HL,(dst)
        INC     HL
        INC     HL
        LD      (dst),HL
        LD      HL,(seed)       ; x = 5x + 3779h
        LD      D,H
        LD      E,L
        ADD     HL,HL
        ADD     HL,HL
        ADD     HL,DE
        LD      DE,3779H
        ADD     HL,DE
        LD      (seed),HL
        LD      HL,steps
        DEC     (HL)
        JR      NZ,step

        LD      DE,CRCS
        LD      BC,STEPS*2
        CALL    sumw
        RET

seed:   DW      0
dst:    DW      0
steps:  DB      0
name:   DB      'calls $'
