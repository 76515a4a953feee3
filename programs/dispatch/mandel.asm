; class: loop-parallel
; Fixed-point Mandelbrot: 64x48 pixels over [-2,0.5]x[-1.2,1.2] in signed 8.8
; fixed point, at most 16 iterations a pixel; the iteration counts go to a
; buffer, whose 16-bit word sum is printed.
        ORG     100H
        JP      main
        INCLUDE "lib.inc"
IMG     EQU     4000H
COLS    EQU     64
ROWS    EQU     48
MAXIT   EQU     16

work:   LD      HL,-307
        LD      (ci),HL
        LD      IX,IMG
        LD      A,ROWS
row:    LD      (rows),A
        LD      DE,-512
        LD      B,COLS
col:    PUSH    BC
        PUSH    DE
        LD      (cr),DE
        LD      HL,0
        LD      (zr),HL
        LD      (zi),HL
        XOR     A
        LD      (count),A
it1:    LD      BC,(zr)
        LD      D,B
        LD      E,C
        CALL    fmul
        LD      (zr2),HL
        LD      BC,(zi)
        LD      D,B
        LD      E,C
        CALL    fmul
        LD      (zi2),HL
        LD      DE,(zr2)
        ADD     HL,DE
        LD      DE,1024
        OR      A
        SBC     HL,DE
        JP      NC,done
        LD      BC,(zr)
        LD      DE,(zi)
        CALL    fmul
        ADD     HL,HL
        LD      DE,(ci)
        ADD     HL,DE
        LD      (zi),HL
        LD      HL,(zr2)
        LD      DE,(zi2)
        OR      A
        SBC     HL,DE
        LD      DE,(cr)
        ADD     HL,DE
        LD      (zr),HL
        LD      HL,count
        INC     (HL)
        LD      A,(HL)
        CP      MAXIT
        JP      NZ,it1
done:   LD      A,(count)
        LD      (IX+0),A
        INC     IX
        POP     DE
        LD      HL,10
        ADD     HL,DE
        EX      DE,HL
        POP     BC
        DEC     B
        JP      NZ,col
        LD      HL,(ci)
        LD      DE,10
        ADD     HL,DE
        LD      (ci),HL
        LD      A,(rows)
        DEC     A
        JP      NZ,row

        LD      DE,IMG
        LD      BC,COLS*ROWS/2
        CALL    sumw
        RET


; HL = BC * DE >> 8, signed 8.8 fixed point (the magnitude truncated).
fmul:   LD      A,B
        XOR     D
        PUSH    AF
        BIT     7,B
        JR      Z,fm1
        XOR     A
        SUB     C
        LD      C,A
        SBC     A,A
        SUB     B
        LD      B,A
fm1:    BIT     7,D
        JR      Z,fm2
        XOR     A
        SUB     E
        LD      E,A
        SBC     A,A
        SUB     D
        LD      D,A
fm2:    LD      HL,0
        LD      A,16
mloop:  ADD     HL,HL
        RL      E
        RL      D
        JR      NC,mskip
        ADD     HL,BC
        JR      NC,mskip
        INC     DE
mskip:  DEC     A
        JR      NZ,mloop
        LD      L,H
        LD      H,E
        POP     AF
        RET     P
        XOR     A
        SUB     L
        LD      L,A
        SBC     A,A
        SUB     H
        LD      H,A
        RET
name:   DB      'mandel $'
ci:     DW      0
cr:     DW      0
zr:     DW      0
zi:     DW      0
zr2:    DW      0
zi2:    DW      0
rows:   DB      0
count:  DB      0
