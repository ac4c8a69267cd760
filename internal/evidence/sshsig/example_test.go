package sshsig_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"

	"weighin/internal/evidence/sshsig"
)

func Example() {
	// A fixed seed, so the output is reproducible; a station draws its key
	// from crypto/rand.
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{42}, ed25519.SeedSize))
	pub := priv.Public().(ed25519.PublicKey)

	msg := []byte("manifest.json contents\n")
	sig, err := sshsig.Sign(priv, "weighin", msg)
	if err != nil {
		panic(err)
	}
	fmt.Println(sshsig.Fingerprint(pub))
	fmt.Println(sshsig.AllowedSignersLine("station", pub, "weighin"))
	fmt.Println(sshsig.Verify(pub, "weighin", msg, sig))
	fmt.Println(sshsig.Verify(pub, "weighin", []byte("changed"), sig))
	// Output:
	// SHA256:1Lt0B6m58n9i5yp9hABit7qhCJ/7aR7kRxt8QRziO8k
	// station namespaces="weighin" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBl/ayPhbIUyxqvIOPrNXqeJvgx2spIDNAOb+os9No1h
	// <nil>
	// sshsig: signature does not verify
}
