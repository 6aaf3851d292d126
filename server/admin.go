package server

import (
	"context"
	"strings"

	"google.golang.org/grpc"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/ledger"
	"github.com/convstate/convstate/store"
)

// adminService implements convstate.v1.AdminService.
type adminService struct {
	convstatev1.UnimplementedAdminServiceServer
	led  *ledger.Ledger
	errs *errorMapper
	st   store.Store
	gc   *collector
}

func (s *adminService) CollectGarbage(ctx context.Context, _ *convstatev1.CollectGarbageRequest) (*convstatev1.CollectGarbageResponse, error) {
	st, err := s.gc.run(ctx)
	if err != nil {
		return nil, s.errs.status(ctx, err, "")
	}
	return &convstatev1.CollectGarbageResponse{
		FactsDeleted: st.Facts, PairsDeleted: st.Pairs, IndexEntriesDeleted: st.IndexEntries, Examined: st.Examined,
	}, nil
}

func (s *adminService) SetBusinessProfile(ctx context.Context, req *convstatev1.SetBusinessProfileRequest) (*convstatev1.SetBusinessProfileResponse, error) {
	p, err := s.led.SetProfile(ctx, req.GetProfile())
	if err != nil {
		return nil, s.errs.status(ctx, err, "profile.")
	}
	return &convstatev1.SetBusinessProfileResponse{Profile: p}, nil
}

func (s *adminService) GetBusinessProfile(ctx context.Context, req *convstatev1.GetBusinessProfileRequest) (*convstatev1.GetBusinessProfileResponse, error) {
	p, stored, err := s.led.GetProfile(ctx, req.GetBusinessId())
	if err != nil {
		return nil, s.errs.status(ctx, err, "")
	}
	return &convstatev1.GetBusinessProfileResponse{Profile: p, Stored: stored}, nil
}

func (s *adminService) ListRateCards(_ context.Context, req *convstatev1.ListRateCardsRequest) (*convstatev1.ListRateCardsResponse, error) {
	resp := &convstatev1.ListRateCardsResponse{}
	cards := s.led.Engine().Cards
	if cards == nil {
		return resp, nil
	}
	for _, c := range cards.Cards() {
		if cur := req.GetCurrency(); cur != "" && !strings.EqualFold(cur, c.Currency) {
			continue
		}
		rows := c.Rows()
		rc := &convstatev1.RateCard{EffectiveFrom: c.EffectiveFrom, Currency: c.Currency, Source: c.Source, RowCount: int32(len(rows))}
		if req.GetIncludeRows() {
			for _, r := range rows {
				rc.Rows = append(rc.Rows, &convstatev1.RateCardRow{
					Market:   c.DisplayName(r.Market),
					Category: convstatev1.ChargeCategory(r.Category),
					TierFrom: r.TierFrom,
					Rate:     r.Rate.String(),
				})
			}
		}
		resp.Cards = append(resp.Cards, rc)
	}
	return resp, nil
}

// backupChunk is the size of Backup's messages (well under gRPC's 4 MiB default).
const backupChunk = 1 << 20

// Backup streams a consistent snapshot (bbolt tx.WriteTo in one read transaction,
// so writers go on while it runs).
func (s *adminService) Backup(_ *convstatev1.BackupRequest, stream grpc.ServerStreamingServer[convstatev1.BackupResponse]) error {
	ctx := stream.Context()
	w := &chunkWriter{send: func(b []byte) error { return stream.Send(&convstatev1.BackupResponse{Chunk: b}) }}
	n, err := s.st.Backup(ctx, w)
	if err == nil {
		err = w.flush()
	}
	if err != nil {
		return s.errs.status(ctx, err, "")
	}
	return stream.Send(&convstatev1.BackupResponse{TotalBytes: n})
}

// chunkWriter cuts a byte stream into messages of backupChunk bytes.
type chunkWriter struct {
	buf  []byte
	send func([]byte) error
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = make([]byte, 0, backupChunk)
		}
		k := min(len(p), backupChunk-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == backupChunk {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.send(w.buf)
	w.buf = nil // the message owns the bytes now
	return err
}
