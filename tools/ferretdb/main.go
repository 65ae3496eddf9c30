// Command anola-ferretdb runs an embedded FerretDB v1.24.2 (SQLite backend) for
// local development and integration tests of Anola Health.
//
// FerretDB speaks the MongoDB wire protocol but implements only a subset of
// MongoDB (no transactions, sessions, change streams, Decimal128, ...).
//
// We embed github.com/FerretDB/FerretDB/ferretdb instead of building
// FerretDB's own cmd/ferretdb: that binary panics at start-up when built from
// the module proxy because build/version/version.txt is not part of the module.
// The embeddable package skips that check when the main module is not FerretDB.
//
// Usage:
//
//	anola-ferretdb [--listen-addr 127.0.0.1:27017] [--data-dir .data/ferretdb] [--log-level warn]
//	anola-ferretdb --ping 127.0.0.1:27017 [--timeout 2s]
//
// The server stops cleanly on SIGTERM or SIGINT.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	dataDir := flag.String("data-dir", ".data/ferretdb", "directory for the SQLite databases (created if missing)")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	pingAddr := flag.String("ping", "", "instead of serving, connect to `ADDR` (host:port or mongodb:// URI), run the MongoDB ping command and exit 0 if it answers")
	timeout := flag.Duration("timeout", 2*time.Second, "timeout for --ping")
	flag.Parse()

	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "anola-ferretdb: unexpected arguments: %s\n", strings.Join(flag.Args(), " "))
		flag.Usage()
		os.Exit(2)
	}

	if *pingAddr != "" {
		if err := ping(*pingAddr, *timeout); err != nil {
			fmt.Fprintf(os.Stderr, "anola-ferretdb: ping %s: %v\n", *pingAddr, err)
			os.Exit(1)
		}
		fmt.Printf("ok: %s answered ping\n", *pingAddr)
		return
	}

	if err := serve(*listenAddr, *dataDir, *logLevel); err != nil {
		fmt.Fprintf(os.Stderr, "anola-ferretdb: %v\n", err)
		os.Exit(1)
	}
}

// serve runs FerretDB until SIGTERM/SIGINT.
func serve(listenAddr, dataDir, logLevel string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", logLevel)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return fmt.Errorf("data dir %q: %w", dataDir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// Telemetry: the embeddable package disables and locks telemetry itself
	// (state.DisableTelemetry + TelemetryLocked in ferretdb.New); nothing to configure.
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listenAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		return err
	}

	fmt.Fprintf(os.Stderr, "anola-ferretdb: FerretDB v1.24.2 (sqlite, %s) listening on %s (pid %d)\n", dir, listenAddr, os.Getpid())

	if err := f.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}

	fmt.Fprintln(os.Stderr, "anola-ferretdb: stopped")
	return nil
}

// ping connects to addr over the MongoDB wire protocol and runs {ping: 1}
// against the admin database.
func ping(addr string, timeout time.Duration) error {
	uri := addr
	if !strings.HasPrefix(uri, "mongodb://") {
		uri = "mongodb://" + addr + "/"
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	opts := options.Client().
		ApplyURI(uri).
		SetDirect(true).
		SetConnectTimeout(timeout).
		SetServerSelectionTimeout(timeout)

	client, err := mongo.Connect(ctx, opts)
	if err != nil {
		return err
	}
	// No client.Disconnect: it sends `endSessions`, which FerretDB v1.24.2 does not
	// implement and logs as a WARN with a full message dump on every ping. The process
	// exits right after this call, which closes the connection anyway.

	var res bson.M
	if err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}, options.RunCmd().SetReadPreference(readpref.Primary())).Decode(&res); err != nil {
		return err
	}
	if ok, _ := res["ok"].(float64); ok != 1 {
		return fmt.Errorf("unexpected reply: %v", res)
	}
	return nil
}
