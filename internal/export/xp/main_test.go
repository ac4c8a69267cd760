package xp
import ("context";"encoding/json";"os";"testing";"time";"weighin/internal/export";"weighin/internal/export/exporttest")
func TestTry(t *testing.T){
  os.RemoveAll("/tmp/xp/state")
  b, err := exporttest.Make("/tmp/xp/state", exporttest.Spec{Duration: 12*time.Second, OrderRef:"12345", Tracking:"LX123456785CN", MaxFileDuration: 10*time.Second, Marks: []exporttest.MarkSpec{{At: 7*time.Second, Label:"torn sleeve"}}})
  if err != nil { t.Fatal(err) }
  tools, err := export.FindTools("","")
  if err != nil { t.Fatal(err) }
  src, err := export.OpenSource(context.Background(), tools, b.Dir)
  if err != nil { t.Fatal(err) }
  t.Logf("src %dx%d@%d dur %v notes %v weightsrc %s walls %+v", src.Width, src.Height, src.FPS, src.Duration, src.Notes, src.Timeline.WeightSource, src.Timeline.Wall)
  zone, _ := time.LoadLocation("Europe/Berlin")
  st := time.Now()
  res, err := export.Export(context.Background(), tools, src, export.Options{Preset: "chat", WorkDir: "/tmp/xp/work", Zone: zone, Progress: func(p export.Progress){ }})
  if err != nil { t.Fatal(err) }
  t.Log(time.Since(st))
  j, _ := json.MarshalIndent(res.Record, "", " ")
  os.WriteFile("/tmp/xp/record.json", j, 0o644)
}
