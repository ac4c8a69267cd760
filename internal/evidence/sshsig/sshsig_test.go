package sshsig

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func testKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func sshKeygen(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Fatalf("ssh-keygen not found (Debian package openssh-client): %v", err)
	}
	return p
}

func TestSignVerify(t *testing.T) {
	priv := testKey(1)
	pub := priv.Public().(ed25519.PublicKey)
	other := testKey(2).Public().(ed25519.PublicKey)
	msg := []byte("manifest bytes\n")
	sig, err := Sign(priv, "weighin", msg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pub  ed25519.PublicKey
		ns   string
		msg  []byte
		sig  []byte
		want error
	}{
		{"good", pub, "weighin", msg, sig, nil},
		{"other message", pub, "weighin", []byte("manifest bytes!\n"), sig, ErrBadSignature},
		{"other namespace", pub, "file", msg, sig, ErrNamespace},
		{"other key", other, "weighin", msg, sig, ErrKeyMismatch},
		{"empty", pub, "weighin", msg, nil, ErrMalformed},
		{"truncated", pub, "weighin", msg, sig[:len(sig)/2], ErrMalformed},
		{"crlf armour", pub, "weighin", msg, bytes.ReplaceAll(sig, []byte("\n"), []byte("\r\n")), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.pub, tc.ns, tc.msg, tc.sig)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Verify: got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSignatureBlobFlip flips every byte of the decoded signature and checks
// that none of the variants verifies.
func TestSignatureBlobFlip(t *testing.T) {
	priv := testKey(3)
	pub := priv.Public().(ed25519.PublicKey)
	msg := []byte("hello")
	sig, _ := Sign(priv, "weighin", msg)
	raw, err := dearmor(sig, armorBegin, armorEnd)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		mod := bytes.Clone(raw)
		mod[i] ^= 0x01
		if err := Verify(pub, "weighin", msg, armor(armorBegin, armorEnd, mod)); err == nil {
			t.Fatalf("byte %d flipped: signature still verifies", i)
		}
	}
}

func TestIsCanonical(t *testing.T) {
	priv := testKey(4)
	pub := priv.Public().(ed25519.PublicKey)
	sig, _ := Sign(priv, "weighin", []byte("x"))
	if !IsCanonical(sig) {
		t.Fatal("Sign's output is not canonical")
	}
	// Every one-byte change either breaks the form or the signature.
	for i := range sig {
		mod := bytes.Clone(sig)
		mod[i] ^= 0x01
		if IsCanonical(mod) && Verify(pub, "weighin", []byte("x"), mod) == nil {
			t.Fatalf("byte %d flipped (%q -> %q): still canonical and valid", i, sig[i], mod[i])
		}
	}
	if IsCanonical(append(bytes.Clone(sig), '\n')) {
		t.Fatal("extra newline accepted as canonical")
	}
}

func TestDeterministic(t *testing.T) {
	a, _ := Sign(testKey(4), "weighin", []byte("x"))
	b, _ := Sign(testKey(4), "weighin", []byte("x"))
	if !bytes.Equal(a, b) {
		t.Fatal("two signatures of the same message differ")
	}
}

// TestInteropSSHKeygen: our signatures verify with ssh-keygen, ssh-keygen's
// signatures verify with us, our private key file is read by ssh-keygen, and
// fingerprints agree.
func TestInteropSSHKeygen(t *testing.T) {
	kg := sshKeygen(t)
	dir := t.TempDir()
	priv := testKey(5)
	pub := priv.Public().(ed25519.PublicKey)
	keyFile := filepath.Join(dir, "id_ed25519")
	pem, err := MarshalPrivateKey(priv, "weighin-test")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(stdin []byte, args ...string) string {
		t.Helper()
		cmd := exec.Command(kg, args...)
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// ssh-keygen derives the same public key from our private key file.
	got := strings.TrimSpace(run(nil, "-y", "-f", keyFile))
	if want := MarshalAuthorizedKey(pub, "weighin-test"); got != want {
		t.Fatalf("ssh-keygen -y: got %q, want %q", got, want)
	}
	// Fingerprints agree.
	pubFile := filepath.Join(dir, "id_ed25519.pub")
	os.WriteFile(pubFile, []byte(MarshalAuthorizedKey(pub, "c")+"\n"), 0o644)
	if out := run(nil, "-l", "-f", pubFile); !strings.Contains(out, Fingerprint(pub)) {
		t.Fatalf("ssh-keygen -l printed %q, want fingerprint %s", out, Fingerprint(pub))
	}

	// Our signature verifies with ssh-keygen.
	msg := []byte("{\"schema\":1}\n")
	sig, _ := Sign(priv, "weighin", msg)
	sigFile := filepath.Join(dir, "m.sig")
	os.WriteFile(sigFile, sig, 0o644)
	allowed := filepath.Join(dir, "allowed_signers")
	os.WriteFile(allowed, []byte(AllowedSignersLine("station", pub, "weighin")+"\n"), 0o644)
	run(msg, "-Y", "verify", "-f", allowed, "-I", "station", "-n", "weighin", "-s", sigFile)
	// ... and fails for a changed message.
	cmd := exec.Command(kg, "-Y", "verify", "-f", allowed, "-I", "station", "-n", "weighin", "-s", sigFile)
	cmd.Stdin = bytes.NewReader(append(msg, ' '))
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("ssh-keygen accepted a changed message: %s", out)
	}

	// ssh-keygen's signature (made with our key file) verifies with us and
	// is byte-identical to ours (ed25519 is deterministic).
	msgFile := filepath.Join(dir, "msg")
	os.WriteFile(msgFile, msg, 0o644)
	run(nil, "-Y", "sign", "-f", keyFile, "-n", "weighin", msgFile)
	theirs, err := os.ReadFile(msgFile + ".sig")
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(pub, "weighin", msg, theirs); err != nil {
		t.Fatalf("verify ssh-keygen's signature: %v", err)
	}
	if !bytes.Equal(theirs, sig) {
		t.Errorf("ssh-keygen's signature differs from ours:\n%s\n%s", theirs, sig)
	}

	// A key generated by ssh-keygen parses.
	gen := filepath.Join(dir, "gen")
	run(nil, "-q", "-t", "ed25519", "-N", "", "-C", "made-by-ssh-keygen", "-f", gen)
	data, _ := os.ReadFile(gen)
	gpriv, comment, err := ParsePrivateKey(data)
	if err != nil {
		t.Fatalf("parse ssh-keygen key: %v", err)
	}
	if comment != "made-by-ssh-keygen" {
		t.Errorf("comment %q", comment)
	}
	gpubLine, _ := os.ReadFile(gen + ".pub")
	gpub, err := ParseAuthorizedKey(string(gpubLine))
	if err != nil {
		t.Fatal(err)
	}
	if !gpub.Equal(gpriv.Public()) {
		t.Fatal("parsed ssh-keygen private key does not match its .pub")
	}
}

func TestPrivateKeyRoundTrip(t *testing.T) {
	priv := testKey(6)
	pem, err := MarshalPrivateKey(priv, "c")
	if err != nil {
		t.Fatal(err)
	}
	got, comment, err := ParsePrivateKey(pem)
	if err != nil || !got.Equal(priv) || comment != "c" {
		t.Fatalf("round trip: %v %q", err, comment)
	}
	for i := 0; i < len(pem); i += 7 {
		mod := bytes.Clone(pem)
		mod[i] ^= 0x20
		if k, _, err := ParsePrivateKey(mod); err == nil && !k.Equal(priv) {
			t.Fatalf("byte %d changed: parsed a different key without error", i)
		}
	}
}

func TestParseAuthorizedKey(t *testing.T) {
	pub := testKey(7).Public().(ed25519.PublicKey)
	for _, line := range []string{
		MarshalAuthorizedKey(pub, ""),
		MarshalAuthorizedKey(pub, "a comment"),
		AllowedSignersLine("station", pub, "weighin"),
		"  " + MarshalAuthorizedKey(pub, "x") + "\n",
	} {
		got, err := ParseAuthorizedKey(line)
		if err != nil || !got.Equal(pub) {
			t.Errorf("ParseAuthorizedKey(%q): %v", line, err)
		}
	}
	for _, line := range []string{"", "ssh-rsa AAAA", "ssh-ed25519 !!!", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"} {
		if _, err := ParseAuthorizedKey(line); err == nil {
			t.Errorf("ParseAuthorizedKey(%q) accepted", line)
		}
	}
}

func FuzzParse(f *testing.F) {
	priv := testKey(8)
	pub := priv.Public().(ed25519.PublicKey)
	msg := []byte("fuzz")
	sig, _ := Sign(priv, "weighin", msg)
	f.Add(sig)
	f.Add([]byte(armorBegin + "\n" + armorEnd))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if s != nil {
				t.Fatal("non-nil signature with error")
			}
			return
		}
		verr := s.Verify(pub, "weighin", msg)
		// Armour may vary (line breaks, spaces); the decoded content may not.
		if verr == nil {
			raw, _ := dearmor(data, armorBegin, armorEnd)
			want, _ := dearmor(sig, armorBegin, armorEnd)
			if !bytes.Equal(raw, want) {
				t.Fatalf("a different signature verified: %q", data)
			}
		}
	})
}

func FuzzParsePrivateKey(f *testing.F) {
	pem, _ := MarshalPrivateKey(testKey(9), "c")
	f.Add(pem)
	f.Add([]byte(keyArmorBegin + "\n" + keyArmorEnd))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, _, err := ParsePrivateKey(data)
		if err == nil && len(k) != ed25519.PrivateKeySize {
			t.Fatalf("key of %d bytes without error", len(k))
		}
	})
}

func BenchmarkSign(b *testing.B) {
	priv := testKey(10)
	msg := bytes.Repeat([]byte("x"), 4096)
	for b.Loop() {
		if _, err := Sign(priv, "weighin", msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	priv := testKey(11)
	pub := priv.Public().(ed25519.PublicKey)
	msg := bytes.Repeat([]byte("x"), 4096)
	sig, _ := Sign(priv, "weighin", msg)
	for b.Loop() {
		if err := Verify(pub, "weighin", msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}
