package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// GetByOrderRef returns the parcel registered with an order reference (the
// first by tracking number if several share it); ErrNotFound when there is
// none. It asks the database for that one row rather than listing them all.
func (r *DB) GetByOrderRef(ctx context.Context, orderRef string) (Parcel, error) {
	p, err := scanParcel(r.db.QueryRowContext(ctx, `SELECT `+parcelCols+` FROM parcels WHERE order_ref = ? ORDER BY tracking LIMIT 1`, orderRef))
	if errors.Is(err, sql.ErrNoRows) {
		return Parcel{}, fmt.Errorf("%w: order %s", ErrNotFound, orderRef)
	}
	if err != nil {
		return Parcel{}, fmt.Errorf("registry: get order %s: %w", orderRef, err)
	}
	return p, nil
}
