package conformance

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	ferryv1 "github.com/ferry-gateway/ferry/examples/go/gen/ferry/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// vector is the part of a tests/conformance/*.json file this test uses; the full check is
// `ferry conformance` (see e2e/conformance_test.go).
type vector struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Request struct {
		Payload struct {
			Text   *string `json:"text"`
			Hex    *string `json:"hex"`
			Repeat *string `json:"repeat"`
			Bytes  int     `json:"bytes"`
		} `json:"payload"`
		Attributes map[string]string `json:"attributes"`
		MessageID  string            `json:"message_id"`
		Attempt    *uint32           `json:"attempt"`
		Realm      string            `json:"realm"`
		DeadlineMS *int64            `json:"deadline_ms"`
	} `json:"request"`
	Expect struct {
		Outcome string  `json:"outcome"`
		Reason  *string `json:"reason"`
		DelayMS *int64  `json:"delay_ms"`
		Echo    bool    `json:"echo"`
	} `json:"expect"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	files, err := filepath.Glob("../../../tests/conformance/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors found: %v", err)
	}
	var vectors []vector
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var v vector
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		vectors = append(vectors, v)
	}
	return vectors
}

func (v vector) request(t *testing.T) *ferryv1.HandleRequest {
	t.Helper()
	var payload []byte
	switch p := v.Request.Payload; {
	case p.Text != nil:
		payload = []byte(*p.Text)
	case p.Hex != nil:
		var err error
		if payload, err = hex.DecodeString(*p.Hex); err != nil {
			t.Fatal(err)
		}
	case p.Repeat != nil:
		payload = bytes.Repeat([]byte(*p.Repeat), p.Bytes/len(*p.Repeat)+1)[:p.Bytes]
	}
	attempt, deadline := uint32(1), int64(10_000)
	if v.Request.Attempt != nil {
		attempt = *v.Request.Attempt
	}
	if v.Request.DeadlineMS != nil {
		deadline = *v.Request.DeadlineMS
	}
	return &ferryv1.HandleRequest{
		Payload: payload, Attributes: v.Request.Attributes, MessageId: v.Request.MessageID,
		Attempt: attempt, MaxAttempts: 5, Realm: v.Request.Realm,
		Deadline: timestamppb.New(time.Now().Add(time.Duration(deadline) * time.Millisecond)),
	}
}

func TestReferenceAnswersEveryHandleVector(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.Kind != "handle" {
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			req := v.request(t)
			resp, err := Reference{}.Handle(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			var got, reason string
			switch {
			case resp.GetDone() != nil:
				got = "done"
			case resp.GetRetry() != nil:
				got, reason = "retry", resp.GetRetry().GetReason()
			case resp.GetDeadLetter() != nil:
				got, reason = "dead_letter", resp.GetDeadLetter().GetReason()
			}
			want := v.Expect.Outcome
			if want == "retry_or_deadline" {
				want = "retry"
			}
			if got != want {
				t.Fatalf("outcome %s, want %s (%v)", got, want, resp)
			}
			if v.Expect.Reason != nil && reason != *v.Expect.Reason {
				t.Errorf("reason %q, want %q", reason, *v.Expect.Reason)
			}
			if v.Expect.DelayMS != nil && resp.GetRetry().GetDelay().AsDuration() != time.Duration(*v.Expect.DelayMS)*time.Millisecond {
				t.Errorf("delay %v, want %d ms", resp.GetRetry().GetDelay(), *v.Expect.DelayMS)
			}
			if v.Expect.Echo {
				echo := resp.GetPublish()
				if len(echo) != 1 || echo[0].GetDestination() != EchoDestination || !bytes.Equal(echo[0].GetPayload(), req.GetPayload()) || echo[0].GetRealm() != req.GetRealm() {
					t.Errorf("echo %v", echo)
				}
			} else if len(resp.GetPublish()) != 0 {
				t.Errorf("published %v", resp.GetPublish())
			}
		})
	}
}
