// Package kerneltest runs the camera driver against the Linux kernel's vivid
// virtual camera: its test (build tag kernel, `make test-kernel`) boots
// Debian's amd64 kernel under qemu with a busybox initramfs, loads vivid,
// runs the camera package's guest tests (vivid_guest_test.go, build tag
// vividguest) inside, and judges the recording they bring out with ffprobe
// on the host.
package kerneltest
