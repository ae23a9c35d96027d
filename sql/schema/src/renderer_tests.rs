//! The engine's renderers over the Moha catalog: what the generated files must say about
//! particular Moha tables.

mod typescript {
    use crate::typescript::*;
    use crate::Catalog;

    fn catalog() -> Catalog {
        Catalog::from_releases(&crate::moha::releases()).unwrap()
    }

    #[test]
    fn nullable_defaulted_and_identity_columns() {
        let ts = database_types(&catalog(), crate::moha::MODEL).unwrap();
        // Row: nullable is `| null`; Insert: defaulted and nullable are optional, required
        // columns are not; identity `always` columns can never be written.
        assert!(ts.contains("          description: string | null\n"));
        assert!(ts.contains("          title: string\n          updated_at?: string\n"));
        assert!(ts.contains("          id?: never\n"));
        assert!(
            ts.contains("          status: Database[\"public\"][\"Enums\"][\"project_status\"]\n")
        );
        // `unknown` includes null already; a not-null json column is `NonNullable<Json>`.
        assert!(ts.contains("          location: unknown\n"));
        assert!(ts.contains("          payload: NonNullable<Json>\n"));
    }

    #[test]
    fn one_to_one_relationships() {
        let ts = database_types(&catalog(), crate::moha::MODEL).unwrap();
        assert!(ts.contains(
            "            foreignKeyName: \"render_parameters_request_id_fkey\"\n            columns: [\"request_id\"]\n            isOneToOne: true\n"
        ));
        assert!(ts.contains(
            "            foreignKeyName: \"render_results_request_id_fkey\"\n            columns: [\"request_id\"]\n            isOneToOne: false\n"
        ));
    }
}
