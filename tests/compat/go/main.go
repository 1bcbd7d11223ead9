// A franz-go (github.com/twmb/franz-go) client driving a broker, for Samsa's compatibility tests.
//
//	go run . <bootstrap> <scenario>
//
// Scenarios: produce-consume (an idempotent producer with acks=all and each compression codec, then a
// group-less consumer reading every record back in order), produce-retry (idempotent records to the topic
// COMPAT_TOPIC through a network that loses answers). Prints one JSON line per check; exits 1 if any failed.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

type check struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail any    `json:"detail,omitempty"`
}

var failed bool

func report(name string, ok bool, detail any) {
	if !ok {
		failed = true
	}
	line, _ := json.Marshal(check{name, ok, detail})
	fmt.Println(string(line))
}

func produceConsume(ctx context.Context, bootstrap string) {
	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	admin, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		report("client", false, err.Error())
		return
	}
	defer admin.Close()
	adm := kadm.NewClient(admin)
	for name, codec := range codecs {
		topic := "franz-" + name
		if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
			report("create-topic-"+name, false, err.Error())
			continue
		}
		producer, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ProducerBatchCompression(codec),
			kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic(topic))
		if err != nil {
			report("producer-"+name, false, err.Error())
			continue
		}
		const n = 1000
		records := make([]*kgo.Record, n)
		for i := range records {
			records[i] = &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("%s value %d", name, i)),
				Headers: []kgo.RecordHeader{{Key: "i", Value: []byte(fmt.Sprint(i))}}}
		}
		results := producer.ProduceSync(ctx, records...)
		producer.Close()
		offsetsOK := results.FirstErr() == nil
		for i, r := range results {
			if r.Err != nil || r.Record.Offset != int64(i) {
				offsetsOK = false
				break
			}
		}
		report("produce-"+name, offsetsOK, map[string]any{"records": n, "error": fmt.Sprint(results.FirstErr())})

		consumer, err := kgo.NewClient(kgo.SeedBrokers(bootstrap),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
		if err != nil {
			report("consumer-"+name, false, err.Error())
			continue
		}
		got := 0
		inOrder := true
		deadline, cancel := context.WithTimeout(ctx, 20*time.Second)
		for got < n && deadline.Err() == nil {
			fetches := consumer.PollFetches(deadline)
			fetches.EachRecord(func(r *kgo.Record) {
				want := fmt.Sprintf("%s value %d", name, got)
				if string(r.Value) != want || r.Offset != int64(got) || string(r.Headers[0].Value) != fmt.Sprint(got) {
					inOrder = false
				}
				got++
			})
		}
		cancel()
		consumer.Close()
		report("consume-"+name, got == n && inOrder, map[string]any{"records": got, "in_order": inOrder})
	}
}

// produceRetry sends records with franz-go's default idempotent producer (acks=all) to partition 0 of the existing
// topic COMPAT_TOPIC, through a network that loses answers (the test's proxy): every record is acknowledged at
// offsets 0..n-1. The caller reads the partition back to see each record stored exactly once.
func produceRetry(ctx context.Context, bootstrap string) {
	topic := os.Getenv("COMPAT_TOPIC")
	if topic == "" {
		report("produce-retry", false, "produce-retry needs COMPAT_TOPIC")
		return
	}
	producer, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchMaxBytes(1024),
		kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelInfo, nil)))
	if err != nil {
		report("producer", false, err.Error())
		return
	}
	defer producer.Close()
	const n = 100
	records := make([]*kgo.Record, n)
	for i := range records {
		records[i] = &kgo.Record{Partition: 0, Key: []byte(fmt.Sprintf("k-%d", i)), Value: []byte(fmt.Sprintf("v-%d", i))}
	}
	results := producer.ProduceSync(ctx, records...)
	report("all-acked", results.FirstErr() == nil, map[string]any{"records": n, "error": fmt.Sprint(results.FirstErr())})
	inOrder := true
	for i, r := range results {
		if r.Err != nil || r.Record.Offset != int64(i) {
			inOrder = false
			break
		}
	}
	report("offsets-in-send-order", inOrder, map[string]any{"records": n})
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go run . <bootstrap> produce-consume|produce-retry")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	switch os.Args[2] {
	case "produce-consume":
		produceConsume(ctx, os.Args[1])
	case "produce-retry":
		produceRetry(ctx, os.Args[1])
	default:
		fmt.Fprintln(os.Stderr, "unknown scenario", os.Args[2])
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}
