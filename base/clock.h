/*
 * Monotonic time (CLOCK_MONOTONIC), for durations and deadlines only:
 * it never goes back and means nothing as a date.
 */
#ifndef MP_CLOCK_H
#define MP_CLOCK_H

long long	 clock_mono_ms(void);	/* milliseconds */
double		 clock_mono_s(void);	/* seconds, with the fraction */

#endif
