package main

import (
	"io"
	"log"
	"net"
)

// serveRelay is the "relay" target: a TCP relay to target, which copies
// bytes both ways (io.Copy between two TCP connections, which Linux does
// with splice) and parses no HTTP at all. No gateway can forward a call
// for less, so its figures are the floor under braid's and the proxy's on
// the same machine: what one connection's two wake-ups per call cost
// (one when the request arrives, one when the answer does).
func serveRelay(target string) {
	ln := listenRole()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go relay(c, target)
	}
}

// relay joins the client c to a new connection to target until either
// side closes.
func relay(c net.Conn, target string) {
	defer c.Close()
	u, err := net.Dial("tcp", target)
	if err != nil {
		log.Printf("relay: %v", err)
		return
	}
	defer u.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(c, u)
		_ = c.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(u, c)
	_ = u.(*net.TCPConn).CloseWrite()
	<-done
}
