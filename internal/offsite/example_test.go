package offsite_test

import (
	"fmt"

	"weighin/internal/offsite"
)

// The back-off after consecutive failures: 30 s·2ⁿ, at most 30 minutes.
func ExampleBackoff() {
	for n := 1; n <= 8; n++ {
		fmt.Print(offsite.Backoff(n, offsite.DefaultBackoffBase, offsite.DefaultBackoffMax), " ")
	}
	fmt.Println()
	// Output: 30s 1m0s 2m0s 4m0s 8m0s 16m0s 30m0s 30m0s
}

// Objects are named <prefix>/<station_id>/<session>/<file>.
func ExampleStore_Key() {
	s, err := offsite.NewStore(offsite.StoreOptions{Endpoint: "http://nas.lan:7070", Bucket: "evidence", Prefix: "shop-berlin", Region: "us-east-1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Key("dock-1", "000042-20260301T101500Z", "video.mkv"))
	// Output: shop-berlin/dock-1/000042-20260301T101500Z/video.mkv
}
