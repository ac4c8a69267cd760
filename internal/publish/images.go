package publish

// The station's three Home Assistant image entities — "Label still"
// (image.<id>_label), "Weigh-in frame" (image.<id>_weighin_frame) and
// "Mark still" (image.<id>_still) — are fed by URL while the web app runs
// and by raw payload otherwise (issue 23). A URL is a file of the
// session's share link (<web.url>/s/TOKEN/f/<file>, the one signing scheme
// of internal/web share.go), which Home Assistant fetches without a login:
// the broker holds a short retained URL instead of a JPEG.

// Image names one of the image entities.
type Image int

const (
	ImageLabel   Image = iota // the label still, <base>/label or label_url
	ImageWeighin              // a pack's weigh-in frame, <base>/weighin_frame or weighin_frame_url
	ImageStill                // a pack's last mark still, <base>/still or still_url
)

// imageTopics are an image's raw and URL topics and its component key.
func (t Topics) imageTopics(im Image) (raw, url, key string) {
	switch im {
	case ImageLabel:
		return t.Label, t.LabelURL, "label"
	case ImageWeighin:
		return t.Weighin, t.WeighinURL, "weighin_frame"
	}
	return t.Still, t.StillURL, "still"
}

// WithImageURLs feeds the image entities by URL: url_topic replaces
// image_topic and content_type (Home Assistant takes the type from the
// answer). Keys, unique and entity ids stay the same.
func (d DiscoveryPayload) WithImageURLs(t Topics) DiscoveryPayload {
	c := make(map[string]Component, len(d.Components))
	for k, v := range d.Components {
		c[k] = v
	}
	for _, im := range []Image{ImageLabel, ImageWeighin, ImageStill} {
		_, url, key := t.imageTopics(im)
		old, ok := c[key]
		if !ok {
			continue
		}
		n := make(Component, len(old))
		for k, v := range old {
			if k != "image_topic" && k != "content_type" {
				n[k] = v
			}
		}
		n["url_topic"] = url
		c[key] = n
	}
	d.Components = c
	return d
}

// PublishImage publishes an image retained: its URL on the URL topic
// when url is not "" (the web app runs), else the raw JPEG. The label
// still is kept and republished on every connect.
func (p *Publisher) PublishImage(im Image, jpeg []byte, url string) error {
	raw, urlTopic, _ := p.topics.imageTopics(im)
	topic, payload := raw, jpeg
	if url != "" {
		topic, payload = urlTopic, []byte(url)
	}
	if im == ImageLabel {
		return p.publishKept(topic, payload)
	}
	return p.publishRetained(topic, payload)
}
