package station

import (
	"reflect"
	"testing"
	"time"

	"weighin/drivers/camera"
	"weighin/internal/config"
)

// TestCameraOptsFromConfig: the configuration's camera defaults are the
// driver's own defaults, and CameraOpts carries every field the driver has
// (the driver knows nothing of internal/config, so the test lives here).
func TestCameraOptsFromConfig(t *testing.T) {
	if got, want := CameraOpts(config.Default().Camera), camera.DefaultOpts(); got != want {
		t.Errorf("config defaults %+v, driver defaults %+v", got, want)
	}
	// Every driver option has a configuration field of the same name, and a
	// value set there reaches the driver.
	var c config.Camera
	cv := reflect.ValueOf(&c).Elem()
	ot := reflect.TypeOf(camera.Opts{})
	for i := range ot.NumField() {
		name := ot.Field(i).Name
		f := cv.FieldByName(name)
		if !f.IsValid() {
			t.Errorf("camera.Opts.%s has no config.Camera field", name)
			continue
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString("x" + name)
		case reflect.Int, reflect.Int64:
			if f.Type() == reflect.TypeOf(time.Duration(0)) {
				f.SetInt(int64(time.Duration(i+1) * time.Millisecond))
			} else {
				f.SetInt(int64(1000 + i))
			}
		default:
			t.Fatalf("field %s of kind %s: extend the test", name, f.Kind())
		}
	}
	ov := reflect.ValueOf(CameraOpts(c))
	for i := range ot.NumField() {
		name := ot.Field(i).Name
		if got, want := ov.Field(i).Interface(), cv.FieldByName(name).Interface(); got != want {
			t.Errorf("CameraOpts: %s = %v, config has %v", name, got, want)
		}
	}
}
