package registry_test

import (
	"fmt"
	"strings"

	"weighin/internal/registry"
)

func ExampleParseCSV() {
	in := `order_ref,tracking,label_g,label_resolution_g,items
KB-77812,lx 123456785 cn,1840,10,"Leather jacket:505;Sneakers:1120;Belt:210"
KB-77813,1Z999AA10123456784,,,
`
	ps, err := registry.ParseCSV(strings.NewReader(in), "parcels.csv")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range ps {
		fmt.Printf("%s %s %v [%s]\n", p.Tracking, p.OrderRef, p.LabelG != nil, registry.FormatItems(p.Items))
	}

	_, err = registry.ParseCSV(strings.NewReader("tracking,label_g\nRR987654326CN,1.8kg\n"), "bad.csv")
	fmt.Println(err)
	// Output:
	// LX123456785CN KB-77812 true [Leather jacket:505;Sneakers:1120;Belt:210]
	// 1Z999AA10123456784 KB-77813 false []
	// bad.csv:2: label_g: "1.8kg" is not a plain decimal number
}
