// Package mqtttest runs Debian's Mosquitto broker and mosquitto_sub for the
// integration tests and the benchmark of internal/publish and
// internal/broker: a broker on a free loopback port with a generated
// configuration, stopped and restarted at will, and subscribers whose
// output is parsed into messages.
package mqtttest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Paths of the Debian tools.
const (
	MosquittoPath = "/usr/sbin/mosquitto"
	SubPath       = "mosquitto_sub"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Mosquitto is one broker process with its configuration and persistence
// in Dir.
type Mosquitto struct {
	Port int
	Dir  string
	Conf string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Config returns a configuration for a listener on 127.0.0.1:port with
// persistence in dir; listenerExtra lines go under the listener.
func Config(port int, dir, listenerExtra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "persistence true\npersistence_location %s/\n", dir)
	fmt.Fprintf(&b, "log_dest file %s\nlog_type all\nconnection_messages true\n", filepath.Join(dir, "mosquitto.log"))
	if os.Geteuid() == 0 {
		b.WriteString("user root\n") // else it drops to user mosquitto and cannot write dir
	}
	fmt.Fprintf(&b, "per_listener_settings false\nallow_anonymous true\n")
	fmt.Fprintf(&b, "listener %d 127.0.0.1\n%s\n", port, listenerExtra)
	return b.String()
}

// Start writes conf (from Config) into dir and starts the broker, waiting
// until it accepts TCP connections.
func Start(dir string, port int, conf string) (*Mosquitto, error) {
	if _, err := os.Stat(MosquittoPath); err != nil {
		return nil, fmt.Errorf("mqtttest: %s not installed (Debian package mosquitto; make deps): %w", MosquittoPath, err)
	}
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	m := &Mosquitto{Port: port, Dir: dir, Conf: path}
	return m, m.Start()
}

// Start (re)starts a stopped broker.
func (m *Mosquitto) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return errors.New("mqtttest: mosquitto already running")
	}
	cmd := exec.Command(MosquittoPath, "-c", m.Conf)
	out, err := os.OpenFile(filepath.Join(m.Dir, "mosquitto.stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("mqtttest: start mosquitto: %w", err)
	}
	out.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", m.Port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(m.Dir, "mosquitto.log"))
			return fmt.Errorf("mqtttest: mosquitto exited (%v) before listening:\n%s", err, log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			return fmt.Errorf("mqtttest: mosquitto did not listen on %d within 10 s", m.Port)
		}
	}
	m.cmd = cmd
	go func() {
		// Reap is done by the Wait goroutine above; keep exited drained.
		<-exited
	}()
	return nil
}

// Stop stops the broker with SIGTERM (it saves its persistence) and waits
// until the port is closed.
func (m *Mosquitto) Stop() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return nil
	}
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	m.cmd = nil
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", m.Port), 100*time.Millisecond)
		if err != nil {
			return nil
		}
		c.Close()
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("mqtttest: mosquitto still listening 10 s after SIGTERM")
}

// Log returns the broker's log so far.
func (m *Mosquitto) Log() string {
	b, _ := os.ReadFile(filepath.Join(m.Dir, "mosquitto.log"))
	return string(b)
}

// URL is tcp://127.0.0.1:<port>.
func (m *Mosquitto) URL() string { return fmt.Sprintf("tcp://127.0.0.1:%d", m.Port) }

// Msg is one message as mosquitto_sub printed it.
type Msg struct {
	Retained bool
	Topic    string
	Payload  string
	At       time.Time
}

// Sub is a running mosquitto_sub whose output is parsed into Msgs. Payloads
// must not contain newlines.
type Sub struct {
	C   chan Msg
	cmd *exec.Cmd

	mu     sync.Mutex
	stderr strings.Builder
	done   chan struct{}
	held   []Msg  // messages that arrived while Ready waited
	probe  string // topic of Ready's probes, never returned by Wait
}

// Subscribe starts mosquitto_sub with args (host, port, topics, …) and a
// format of "retain|topic|payload".
func Subscribe(args ...string) (*Sub, error) {
	path, err := exec.LookPath(SubPath)
	if err != nil {
		return nil, fmt.Errorf("mqtttest: mosquitto_sub not installed (Debian package mosquitto-clients; make deps): %w", err)
	}
	all := append([]string{"-F", "%r|%t|%p"}, args...)
	cmd := exec.Command(path, all...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &Sub{C: make(chan Msg, 1024), cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = writerFunc(func(p []byte) (int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.stderr.Write(p)
	})
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			parts := strings.SplitN(sc.Text(), "|", 3)
			if len(parts) != 3 {
				continue
			}
			r, _ := strconv.Atoi(parts[0])
			s.C <- Msg{Retained: r == 1, Topic: parts[1], Payload: parts[2], At: time.Now()}
		}
	}()
	return s, nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Stderr returns what mosquitto_sub wrote on stderr.
func (s *Sub) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// Ready makes sure the subscription is in place: it publishes to probe
// (a topic the subscriber was started with) with publish until the
// subscriber sees it. Messages arriving meanwhile are kept for Wait.
func (s *Sub) Ready(probe string, publish func() error, timeout time.Duration) error {
	s.mu.Lock()
	s.probe = probe
	s.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := publish(); err != nil {
			return err
		}
		tick := time.After(300 * time.Millisecond)
	round:
		for {
			select {
			case m := <-s.C:
				if m.Topic == probe {
					return nil
				}
				s.mu.Lock()
				s.held = append(s.held, m)
				s.mu.Unlock()
			case <-s.done:
				return fmt.Errorf("mqtttest: mosquitto_sub exited: %s", s.Stderr())
			case <-tick:
				break round
			}
		}
	}
	return fmt.Errorf("mqtttest: subscription not ready within %v", timeout)
}

// Wait returns the next message for which match is true, or an error after
// timeout. Messages that do not match are dropped, as are Ready's probes.
func (s *Sub) Wait(timeout time.Duration, match func(Msg) bool) (Msg, error) {
	s.mu.Lock()
	for len(s.held) > 0 {
		m := s.held[0]
		s.held = s.held[1:]
		if m.Topic != s.probe && match(m) {
			s.mu.Unlock()
			return m, nil
		}
	}
	probe := s.probe
	s.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case m := <-s.C:
			if m.Topic != probe && match(m) {
				return m, nil
			}
		case <-s.done:
			return Msg{}, fmt.Errorf("mqtttest: mosquitto_sub exited: %s", s.Stderr())
		case <-t.C:
			return Msg{}, fmt.Errorf("mqtttest: no matching message within %v", timeout)
		}
	}
}

// Exited is closed when mosquitto_sub's output ends.
func (s *Sub) Exited() <-chan struct{} { return s.done }

// Close stops mosquitto_sub.
func (s *Sub) Close() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// Publish runs mosquitto_pub with args (host, port, topic, message …).
func Publish(args ...string) error {
	path, err := exec.LookPath("mosquitto_pub")
	if err != nil {
		return fmt.Errorf("mqtttest: mosquitto_pub not installed (Debian package mosquitto-clients; make deps): %w", err)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mqtttest: mosquitto_pub %v: %w: %s", args, err, out)
	}
	return nil
}
