/* cs_synth.h: synthetic releases that tests write for themselves. */
#ifndef CS_SYNTH_H
#define CS_SYNTH_H

/* An ICD-10-CM order file of synthetic codes: letters first..last (at most 9), 100
 * categories each (A00), 10 subcategories under each (A00.0), 10 billable codes under each
 * subcategory (A00.00): 111 entries a category. Fails the test when it cannot be written. */
void cs_synth_order(const char *path, char first, char last);

#endif /* CS_SYNTH_H */
