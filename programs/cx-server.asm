; cx-server: a server loop with a 200 ms receive timeout and clients (issue 12).
; Arguments: 'S', image number of cx-server, client count: the server spawns that
; many clients and counts their messages; each RECEIVE waits at most 200 ms. When a
; receive times out after every message came (10 per client), it exits normally;
; after 50 timeouts short of that, with code 2; on an error status, code 1.
; Arguments 'C', pid (4 bytes): a client sends the server 10 one-byte messages,
; sleeping 3, 6, 9 ... ms between them, then exits.
        include "zbeam.inc"
        org     100h
NMSG    equ     10
        ld      a,(ARGS+1)
        cp      'C'
        jr      z,client
        ld      a,F_SELF
        rst     SYS
        ld      (cpid),hl       ; the clients' argument: the server's pid
        ld      (cpid+2),iy
        ld      a,(ARGS+3)
        ld      b,a
        ld      hl,0
        ld      de,NMSG
count:  add     hl,de           ; left = clients * NMSG
        djnz    count
        ld      (left),hl
        ld      a,(ARGS+3)
        ld      b,a
spawn:  push    bc
        ld      a,(ARGS+2)
        ld      e,a
        ld      d,0
        ld      a,F_SPAWN
        ld      hl,cargs
        ld      bc,5
        rst     SYS
        pop     bc
        or      a
        jr      nz,fail
        djnz    spawn
serve:  ld      a,F_RECV
        ld      de,buf
        ld      bc,4
        ld      hl,200
        rst     SYS
        cp      S_TIMEOUT
        jr      z,quiet
        or      a
        jr      nz,fail
        ld      hl,(left)
        dec     hl
        ld      (left),hl
        jr      serve
quiet:  ld      hl,(left)
        ld      a,h
        or      l
        ret     z               ; every message came, and then the timeout
        ld      hl,tmos
        inc     (hl)
        ld      a,(hl)
        cp      50
        jr      c,serve
        ld      e,2
        jr      quit
fail:   ld      e,1
quit:   ld      a,F_EXIT
        rst     SYS

client: ld      hl,(ARGS+2)
        ld      (server),hl
        ld      hl,(ARGS+4)
        ld      (server+2),hl
        ld      b,NMSG
send:   push    bc
        ld      a,F_SEND
        ld      de,(server)
        ld      iy,(server+2)
        ld      hl,buf
        ld      bc,1
        rst     SYS
        pop     bc
        push    bc
        ld      a,b
        add     a,a
        add     a,b
        ld      l,a
        ld      h,0
        ld      a,F_SLEEP
        rst     SYS
        pop     bc
        djnz    send
        ret

cargs:  db      'C'
cpid:   dw      0,0             ; server pid, passed to the clients
server: dw      0,0             ; (client) the server's pid
left:   dw      0
tmos:   db      0
buf:    ds      4
